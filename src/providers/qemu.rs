//! Local VMs under qemu, for trying a topology on a laptop and for the end-to-end test.
//!
//! Each VM boots the operator's image through a throwaway qcow2 overlay, reads a NoCloud seed
//! ISO (user-data, meta-data, network-config), and has two NICs: NIC1 user-mode with no route
//! out (`restrict=on`; host ports forwarded to it), NIC2 on a private segment shared by all
//! VMs of the cluster (UDP multicast on 127.0.0.1). The serial console goes to a file. Every
//! VM's pid and files are recorded so `stop` removes exactly what `start` made.

use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// One VM to start. User-data is opaque bytes.
#[derive(Debug, Clone)]
pub struct Vm {
    pub name: String,
    pub user_data: Vec<u8>,
    pub network_config: String,
    pub mac_nic1: String,
    pub mac_nic2: String,
    /// (host port on 127.0.0.1, guest port) pairs forwarded through NIC1.
    pub forwards: Vec<(u16, u16)>,
    pub memory_mib: u32,
}

/// The image to boot, and how.
#[derive(Debug, Clone)]
pub struct Boot {
    pub image: PathBuf,
    /// Direct kernel boot (images without a boot loader, such as the test image).
    pub kernel: Option<PathBuf>,
    pub initrd: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Accel {
    Kvm,
    Tcg,
}

/// What `start` made, saved as `vms.json` in the state directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Started {
    pub name: String,
    pub pid: u32,
    pub console: PathBuf,
    pub overlay: PathBuf,
    pub seed: PathBuf,
    pub forwards: Vec<(u16, u16)>,
}

#[derive(Debug, thiserror::Error)]
pub enum QemuError {
    #[error("{what}: {detail}")]
    Command { what: String, detail: String },
    #[error("{path}: {detail}")]
    Io { path: String, detail: String },
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> QemuError + '_ {
    move |e| QemuError::Io {
        path: path.display().to_string(),
        detail: e.to_string(),
    }
}

fn run(what: &str, cmd: &mut Command) -> Result<(), QemuError> {
    let out = cmd.output().map_err(|e| QemuError::Command {
        what: what.into(),
        detail: format!("cannot run it ({e}); is it installed?"),
    })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(QemuError::Command {
            what: what.into(),
            detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// KVM only when it can really run a guest: this kind of host exposes /dev/kvm backed by
/// `kvm_pvm`, under which normal guest kernels hang, so that counts as no KVM.
pub fn detect_accel() -> Accel {
    let usable = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok();
    if usable && !Path::new("/sys/module/kvm_pvm").exists() {
        Accel::Kvm
    } else {
        Accel::Tcg
    }
}

const RECORD: &str = "vms.json";

pub fn load_started(dir: &Path) -> Result<Vec<Started>, QemuError> {
    let path = dir.join(RECORD);
    match fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| QemuError::Io {
            path: path.display().to_string(),
            detail: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(io(&path)(e)),
    }
}

fn save_started(dir: &Path, started: &[Started]) -> Result<(), QemuError> {
    let path = dir.join(RECORD);
    let text = serde_json::to_string_pretty(started).expect("record serializes");
    fs::write(&path, text).map_err(io(&path))
}

/// Start every VM (all at once; they boot in parallel). `segment` is the multicast
/// `address:port` of the shared NIC2 segment.
pub fn start(
    dir: &Path,
    boot: &Boot,
    accel: Accel,
    segment: &str,
    vms: &[Vm],
) -> Result<Vec<Started>, QemuError> {
    fs::create_dir_all(dir).map_err(io(dir))?;
    let mut started = load_started(dir)?;
    for vm in vms {
        let overlay = dir.join(format!("{}.qcow2", vm.name));
        let seed = dir.join(format!("{}.seed.iso", vm.name));
        let console = dir.join(format!("{}.console.log", vm.name));
        let pidfile = dir.join(format!("{}.pid", vm.name));
        let image = fs::canonicalize(&boot.image).map_err(io(&boot.image))?;
        let _ = fs::remove_file(&overlay);
        run(
            "qemu-img create",
            Command::new("qemu-img")
                .args(["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b"])
                .arg(&image)
                .arg(&overlay),
        )?;
        let seed_dir = dir.join(format!("{}.seed", vm.name));
        fs::create_dir_all(&seed_dir).map_err(io(&seed_dir))?;
        fs::write(seed_dir.join("user-data"), &vm.user_data).map_err(io(&seed_dir))?;
        fs::write(
            seed_dir.join("meta-data"),
            format!(
                "instance-id: {name}\nlocal-hostname: {name}\n",
                name = vm.name
            ),
        )
        .map_err(io(&seed_dir))?;
        fs::write(seed_dir.join("network-config"), &vm.network_config).map_err(io(&seed_dir))?;
        run(
            "xorriso",
            Command::new("xorriso")
                .args(["-as", "mkisofs", "-quiet", "-V", "cidata", "-J", "-r", "-o"])
                .arg(&seed)
                .arg(&seed_dir),
        )?;
        // The seed carries the user-data (secrets): it is not kept beside the ISO.
        fs::remove_dir_all(&seed_dir).map_err(io(&seed_dir))?;
        let _ = fs::remove_file(&console);
        let forwards: String = vm
            .forwards
            .iter()
            .map(|(host, guest)| format!(",hostfwd=tcp:127.0.0.1:{host}-:{guest}"))
            .collect();
        let mut cmd = Command::new("qemu-system-x86_64");
        cmd.args([
            "-machine",
            "q35",
            "-m",
            &vm.memory_mib.to_string(),
            "-smp",
            "1",
        ]);
        match accel {
            Accel::Kvm => cmd.args(["-accel", "kvm", "-cpu", "host"]),
            Accel::Tcg => cmd.args(["-accel", "tcg,thread=multi", "-cpu", "max"]),
        };
        cmd.args(["-display", "none", "-monitor", "none", "-daemonize"])
            .arg("-serial")
            .arg(format!("file:{}", console.display()))
            .arg("-pidfile")
            .arg(&pidfile)
            .arg("-drive")
            .arg(format!("file={},if=virtio,format=qcow2", overlay.display()))
            .arg("-drive")
            .arg(format!(
                "file={},if=virtio,format=raw,readonly=on",
                seed.display()
            ))
            .arg("-netdev")
            .arg(format!("user,id=nic1,restrict=on{forwards}"))
            .arg("-device")
            .arg(format!(
                "virtio-net-pci,netdev=nic1,mac={},addr=0x2",
                vm.mac_nic1
            ))
            .arg("-netdev")
            .arg(format!(
                "socket,id=nic2,mcast={segment},localaddr=127.0.0.1"
            ))
            .arg("-device")
            .arg(format!(
                "virtio-net-pci,netdev=nic2,mac={},addr=0x3",
                vm.mac_nic2
            ));
        if let (Some(kernel), Some(initrd)) = (&boot.kernel, &boot.initrd) {
            cmd.arg("-kernel")
                .arg(kernel)
                .arg("-initrd")
                .arg(initrd)
                .args(["-append", "root=/dev/vda rw console=ttyS0"]);
        }
        run("qemu-system-x86_64", &mut cmd)?;
        let pid: u32 = fs::read_to_string(&pidfile)
            .map_err(io(&pidfile))?
            .trim()
            .parse()
            .map_err(|_| QemuError::Io {
                path: pidfile.display().to_string(),
                detail: "no pid".into(),
            })?;
        started.retain(|s| s.name != vm.name);
        started.push(Started {
            name: vm.name.clone(),
            pid,
            console,
            overlay,
            seed,
            forwards: vm.forwards.clone(),
        });
        save_started(dir, &started)?;
    }
    Ok(started)
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Is `pid` still the qemu we started (not a recycled pid)?
fn is_our_qemu(s: &Started) -> bool {
    fs::read(format!("/proc/{}/cmdline", s.pid))
        .map(|c| {
            let c = String::from_utf8_lossy(&c);
            c.contains("qemu-system") && c.contains(&*s.overlay.to_string_lossy())
        })
        .unwrap_or(false)
}

/// Stop exactly the VMs recorded in `dir` (SIGTERM, then SIGKILL after `grace`) and delete
/// their overlays and seeds; consoles stay for reading. Returns the names stopped.
pub fn stop(dir: &Path, grace: Duration) -> Result<Vec<String>, QemuError> {
    let started = load_started(dir)?;
    let mut stopped = Vec::new();
    for s in &started {
        if is_our_qemu(s) {
            let _ = Command::new("kill").arg(s.pid.to_string()).status();
            let deadline = Instant::now() + grace;
            while alive(s.pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
            if alive(s.pid) {
                let _ = Command::new("kill")
                    .args(["-KILL", &s.pid.to_string()])
                    .status();
            }
            stopped.push(s.name.clone());
        }
        for file in [&s.overlay, &s.seed] {
            let _ = fs::remove_file(file);
        }
        let _ = fs::remove_file(dir.join(format!("{}.pid", s.name)));
    }
    let _ = fs::remove_file(dir.join(RECORD));
    Ok(stopped)
}
