//! The Kubernetes packages a node asks apt for, against the real apt of this machine and a
//! signed mirror laid out like pkgs.k8s.io (`tests/vm/build-mirror.sh`) that publishes two
//! revisions of the version, as pkgs.k8s.io has (`1.36.2-1.1`, then `1.36.2-2.1`,
//! kubernetes/release#4156). A hard-coded `-1.1` would install the older build, or nothing
//! where only `-2.1` exists; the plan's pattern must take the newest. apt works on a private
//! state directory (simulation only), so the machine's packages are never touched.

mod common;

use common::output_text;
use std::process::Command;

#[test]
fn apt_takes_the_highest_published_revision_of_the_planned_version() {
    for tool in ["apt-get", "gpg", "apt-ftparchive", "dpkg-deb"] {
        common::require(tool);
    }
    let (compiled, _) = common::compile_profile("single", false);
    let plan = &compiled.plan;
    let version = plan.kubernetes_version.to_string();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mirror = root.join("mirror");
    for revisions in [&["1.1", "2.1"][..], &["2.1"][..]] {
        let _ = std::fs::remove_dir_all(&mirror);
        let debs: Vec<String> = revisions.iter().map(|r| format!("{version}-{r}")).collect();
        let built = Command::new("bash")
            .arg(common::root().join("tests/vm/build-mirror.sh"))
            .arg(&mirror)
            .arg(&version)
            .args(&debs)
            .output()
            .unwrap();
        assert!(built.status.success(), "{}", output_text(&built));
        let repo = mirror.join(format!("core:/stable:/{}/deb", plan.package_minor));
        for d in ["state/lists/partial", "cache/archives/partial"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        let sources = root.join("sources.list");
        std::fs::write(
            &sources,
            format!(
                "deb [signed-by={}] file:{}/ /\n",
                repo.join("Release.key").display(),
                repo.display()
            ),
        )
        .unwrap();
        let apt = |args: &[&str]| {
            let out = Command::new("apt-get")
                .arg("-o")
                .arg(format!("Dir::Etc::SourceList={}", sources.display()))
                .args(["-o", "Dir::Etc::SourceParts=/dev/null"])
                .arg("-o")
                .arg(format!("Dir::State={}", root.join("state").display()))
                .arg("-o")
                .arg(format!("Dir::Cache={}", root.join("cache").display()))
                .args(["-o", "Dir::State::status=/dev/null"])
                .args(args)
                .env("LC_ALL", "C")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "apt-get {args:?}: {}",
                output_text(&out)
            );
            String::from_utf8(out.stdout).unwrap()
        };
        apt(&["update", "-q"]);
        // The very arguments the rendered kubernetes step passes.
        let wanted = |name: &str| format!("{name}={}", plan.package_version);
        let simulated = apt(&[
            "-s",
            "install",
            "--no-install-recommends",
            &wanted("kubelet"),
            &wanted("kubeadm"),
            &wanted("kubectl"),
            "cri-tools",
        ]);
        let newest = format!("{version}-{}", revisions.last().unwrap());
        for name in ["kubelet", "kubeadm", "kubectl"] {
            assert!(
                simulated.contains(&format!("Inst {name} ({newest} ")),
                "{revisions:?}: {name} not at {newest}:\n{simulated}"
            );
        }
        assert!(simulated.contains("Inst cri-tools ("), "{simulated}");
    }
    // The script uses the plan's pattern, quoted so no shell expands it.
    let script = &compiled.bundles[0]
        .files
        .iter()
        .find(|f| f.path == plan.platform.script_path)
        .unwrap()
        .content;
    assert!(script.contains(&format!("export PKG_VERSION='{}'", plan.package_version)));
    assert!(script.contains("\"kubelet=$PKG_VERSION\""));
}
