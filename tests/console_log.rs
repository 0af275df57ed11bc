//! The console-log parser `up` follows nodes with, on recorded text: a real serial console of
//! an openstack-ha master booted under qemu (kernel, systemd and cloud-init output around the
//! boot script's progress lines, colour codes included), and the fixed text Nova's fake virt
//! driver returns on the test rig. Nova returns the log's last lines only, so the parser is
//! also fed tails and cuts of the recording.

use k8sgen::up::progress::{NodeState, lines_for, state};

fn recorded(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/console/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[test]
fn a_real_boot_console_gives_each_step_in_order() {
    let console = recorded("qemu-demo-cp-0-stopped-after-etcd.log");
    let lines: Vec<_> = lines_for(&console, "demo-cp-0").collect();
    let steps: Vec<(u32, &str)> = lines.iter().map(|l| (l.index, l.step.as_str())).collect();
    assert_eq!(
        steps,
        [
            (1, "host-prep"),
            (2, "admin-network"),
            (3, "packages"),
            (4, "runtime"),
            (5, "etcd")
        ]
    );
    assert!(lines.iter().all(|l| l.ok && l.total == 9));
    assert!(lines.windows(2).all(|w| w[0].elapsed_s <= w[1].elapsed_s));
    assert!(
        lines[1].detail.contains("default-route=no"),
        "{:?}",
        lines[1]
    );
    assert_eq!(
        state(&console, "demo-cp-0"),
        NodeState::Stopped("etcd".into())
    );
    // Another node's name never matches this console's lines.
    assert_eq!(state(&console, "demo-cp-1"), NodeState::Booting);
    assert_eq!(state(&console, "demo-cp"), NodeState::Booting);
}

#[test]
fn tails_and_cuts_of_the_log_read_as_nova_returns_them() {
    let console = recorded("qemu-demo-cp-0-stopped-after-etcd.log");
    let all: Vec<&str> = console.lines().collect();
    // The last 3 lines still end the boot.
    let tail = all[all.len() - 3..].join("\n");
    assert_eq!(state(&tail, "demo-cp-0"), NodeState::Stopped("etcd".into()));
    // Cut right after the packages step: the node is running, at step 3.
    let cut = all
        .iter()
        .position(|l| l.contains("step=3/9 packages"))
        .unwrap();
    match state(&all[..=cut].join("\n"), "demo-cp-0") {
        NodeState::Running(p) => assert_eq!((p.index, p.step.as_str()), (3, "packages")),
        other => panic!("{other:?}"),
    }
    // Before the first progress line: still booting.
    let first = all
        .iter()
        .position(|l| l.contains("k8sgen: node="))
        .unwrap();
    assert_eq!(
        state(&all[..first].join("\n"), "demo-cp-0"),
        NodeState::Booting
    );
}

#[test]
fn the_rigs_fake_console_has_no_progress() {
    let console = recorded("nova-fake-driver.log");
    assert_eq!(lines_for(&console, "demo-cp-0").count(), 0);
    assert_eq!(state(&console, "demo-cp-0"), NodeState::Booting);
}

#[test]
fn a_real_failed_step_gives_its_detail() {
    // The `single` master booted with no package mirror: the kubernetes step fails.
    let console = recorded("qemu-lab-cp-0-failed-at-kubernetes.log");
    match state(&console, "lab-cp-0") {
        NodeState::Failed(p) => {
            assert_eq!((p.index, p.total, p.step.as_str()), (5, 8, "kubernetes"));
            assert!(!p.ok);
            assert!(p.detail.contains("attempts=3"), "{}", p.detail);
            assert!(
                p.detail.contains("Could not resolve host: pkgs.k8s.io"),
                "{}",
                p.detail
            );
        }
        other => panic!("{other:?}"),
    }
    let ok_steps: Vec<String> = lines_for(&console, "lab-cp-0")
        .filter(|l| l.ok)
        .map(|l| l.step)
        .collect();
    assert_eq!(ok_steps, ["host-prep", "packages", "runtime", "etcd"]);
}
