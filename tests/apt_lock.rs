//! The boot script's `with_apt_lock`, taken from rendered user-data, against the real apt and
//! dpkg of this machine while another process holds their locks, as a first-boot
//! unattended-upgrades or apt-daily run does. apt works on a private state directory, so the
//! machine's own package state is never touched.

mod common;

use common::output_text;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The `with_apt_lock` function exactly as the rendered boot script defines it.
fn with_apt_lock() -> String {
    let (compiled, _) = common::compile_profile("single", false);
    let plan = &compiled.plan;
    let script = &compiled.bundles[0]
        .files
        .iter()
        .find(|f| f.path == plan.platform.script_path)
        .unwrap()
        .content;
    common::shell_function(script, "with_apt_lock")
}

/// A private apt state: lists, cache, dpkg status, no sources.
struct AptRoot(tempfile::TempDir);

impl AptRoot {
    fn new() -> AptRoot {
        let dir = tempfile::tempdir().unwrap();
        for d in ["lists/partial", "cache/archives/partial", "dpkg/updates"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        std::fs::write(dir.path().join("dpkg/status"), "").unwrap();
        std::fs::write(dir.path().join("sources.list"), "").unwrap();
        AptRoot(dir)
    }
    fn path(&self, p: &str) -> PathBuf {
        self.0.path().join(p)
    }
    fn apt_get(&self, args: &str) -> String {
        let r = self.0.path().display();
        format!(
            "apt-get -o Dir::State::Lists={r}/lists -o Dir::Cache={r}/cache \
             -o Dir::State::status={r}/dpkg/status -o Dir::Etc::sourcelist={r}/sources.list \
             -o Dir::Etc::sourceparts=- -o APT::Sandbox::User=root {args}"
        )
    }
}

/// Hold an fcntl lock on `path` (as apt and dpkg take theirs) for `seconds`, in a child.
fn hold_lock(path: &Path, seconds: u64) -> std::process::Child {
    let child = Command::new("python3")
        .args([
            "-c",
            "import fcntl, os, sys, time\n\
             fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o640)\n\
             fcntl.lockf(fd, fcntl.LOCK_EX)\n\
             print('held', flush=True)\n\
             time.sleep(float(sys.argv[2]))\n",
        ])
        .arg(path)
        .arg(seconds.to_string())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until it holds the lock.
    let mut child = child;
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "held");
    child
}

fn bash(script: &str) -> (Output, Duration) {
    let started = Instant::now();
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .output()
        .unwrap();
    (out, started.elapsed())
}

#[test]
fn apt_get_update_waits_for_the_lists_lock() {
    common::require("apt-get");
    let root = AptRoot::new();
    let update = root.apt_get("update -q");
    let mut holder = hold_lock(&root.path("lists/lock"), 12);
    // Without the helper, apt gives up at once: the lock is really held.
    let (plain, _) = bash(&update);
    assert!(!plain.status.success(), "{}", output_text(&plain));
    assert!(
        output_text(&plain).contains("lock"),
        "{}",
        output_text(&plain)
    );
    let (out, took) = bash(&format!("{}\nwith_apt_lock {update}", with_apt_lock()));
    holder.wait().unwrap();
    assert!(out.status.success(), "{}", output_text(&out));
    assert!(
        output_text(&out).contains("holds a lock; waiting"),
        "{}",
        output_text(&out)
    );
    assert!(took >= Duration::from_secs(8), "returned after {took:?}");
}

#[test]
fn dpkg_selections_wait_for_dpkg_frontend_lock() {
    // apt-mark hold runs `dpkg --set-selections`, which neither waits nor reads apt's
    // DPkg::Lock::Timeout.
    common::require("dpkg");
    let root = AptRoot::new();
    let admindir = root.path("dpkg");
    let select = format!(
        "sh -c 'echo \"kubelet hold\" | dpkg --admindir={} --set-selections'",
        admindir.display()
    );
    let mut holder = hold_lock(&admindir.join("lock-frontend"), 12);
    let (plain, _) = bash(&select);
    assert!(!plain.status.success(), "{}", output_text(&plain));
    let (out, took) = bash(&format!("{}\nwith_apt_lock {select}", with_apt_lock()));
    holder.wait().unwrap();
    assert!(out.status.success(), "{}", output_text(&out));
    assert!(took >= Duration::from_secs(8), "returned after {took:?}");
}

#[test]
fn other_failures_are_not_retried() {
    common::require("apt-get");
    let root = AptRoot::new();
    let (out, took) = bash(&format!(
        "{}\nwith_apt_lock {}",
        with_apt_lock(),
        root.apt_get("install -y k8sgen-no-such-package")
    ));
    assert!(!out.status.success(), "{}", output_text(&out));
    assert!(
        output_text(&out).contains("Unable to locate package"),
        "{}",
        output_text(&out)
    );
    assert!(took < Duration::from_secs(8), "retried for {took:?}");
}
