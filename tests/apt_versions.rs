//! The Kubernetes packages a node asks apt for, against the real apt of this machine and a
//! signed mirror laid out like pkgs.k8s.io (`tests/vm/build-mirror.sh`) that publishes two
//! revisions of the version, as pkgs.k8s.io has (`1.36.2-1.1`, then `1.36.2-2.1`,
//! kubernetes/release#4156). A hard-coded `-1.1` would install the older build, or nothing
//! where only `-2.1` exists; the plan's pattern must take the newest. apt works on a private
//! state directory and only simulates, so the machine's packages are never touched.

mod common;

use common::output_text;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A private apt root whose only source is a test mirror with `revisions` of `version`, and
/// a dpkg status file of its own.
struct Apt {
    dir: tempfile::TempDir,
}

impl Apt {
    fn new(version: &str, minor: &str, revisions: &[&str]) -> Apt {
        for tool in ["apt-get", "gpg", "apt-ftparchive", "dpkg-deb"] {
            common::require(tool);
        }
        let apt = Apt {
            dir: tempfile::tempdir().unwrap(),
        };
        let mirror = apt.path("mirror");
        let debs: Vec<String> = revisions.iter().map(|r| format!("{version}-{r}")).collect();
        let built = Command::new("bash")
            .arg(common::root().join("tests/vm/build-mirror.sh"))
            .arg(&mirror)
            .arg(version)
            .args(&debs)
            .output()
            .unwrap();
        assert!(built.status.success(), "{}", output_text(&built));
        let repo = mirror.join(format!("core:/stable:/{minor}/deb"));
        for d in ["state/lists/partial", "cache/archives/partial"] {
            std::fs::create_dir_all(apt.path(d)).unwrap();
        }
        std::fs::write(apt.path("status"), "").unwrap();
        std::fs::write(
            apt.path("sources.list"),
            format!(
                "deb [signed-by={}] file:{}/ /\n",
                repo.join("Release.key").display(),
                repo.display()
            ),
        )
        .unwrap();
        let out = apt.run(&["update", "-q"]);
        assert!(out.status.success(), "{}", output_text(&out));
        apt
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self, args: &[&str]) -> Output {
        let option = |key: &str, path: &Path| format!("{key}={}", path.display());
        Command::new("apt-get")
            .arg("-o")
            .arg(option("Dir::Etc::SourceList", &self.path("sources.list")))
            .args(["-o", "Dir::Etc::SourceParts=/dev/null"])
            .arg("-o")
            .arg(option("Dir::State", &self.path("state")))
            .arg("-o")
            .arg(option("Dir::Cache", &self.path("cache")))
            .arg("-o")
            .arg(option("Dir::State::status", &self.path("status")))
            .args(args)
            .env("LC_ALL", "C")
            .output()
            .unwrap()
    }
}

/// The rendered boot script of the `single` profile's node, and its plan.
fn single() -> (k8sgen::plan::Plan, String) {
    let (compiled, _) = common::compile_profile("single", false);
    let plan = compiled.plan.clone();
    let script = compiled.bundles[0]
        .files
        .iter()
        .find(|f| f.path == plan.platform.script_path)
        .unwrap()
        .content
        .clone();
    (plan, script)
}

/// The install arguments the kubernetes step passes for the Kubernetes packages.
fn install_args(plan: &k8sgen::plan::Plan, script: &str) -> Vec<String> {
    assert!(script.contains(&format!("export PKG_VERSION='{}'", plan.package_version)));
    // The command as bash sees it: continuation lines joined, indentation collapsed.
    let joined = script.replace("\\\n", " ");
    let joined = joined.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(joined.contains(
        "apt-get install -y -q --no-install-recommends --allow-change-held-packages \
         \"kubelet=$PKG_VERSION\" \"kubeadm=$PKG_VERSION\" \"kubectl=$PKG_VERSION\""
    ));
    let mut args: Vec<String> = [
        "-s",
        "install",
        "-y",
        "--no-install-recommends",
        "--allow-change-held-packages",
    ]
    .map(String::from)
    .to_vec();
    for name in ["kubelet", "kubeadm", "kubectl"] {
        args.push(format!("{name}={}", plan.package_version));
    }
    args
}

#[test]
fn apt_takes_the_highest_published_revision_of_the_planned_version() {
    let (plan, script) = single();
    let version = plan.kubernetes_version.to_string();
    let args = install_args(&plan, &script);
    for revisions in [&["1.1", "2.1"][..], &["2.1"][..]] {
        let apt = Apt::new(&version, &plan.package_minor, revisions);
        let out = apt.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let simulated = output_text(&out);
        assert!(out.status.success(), "{simulated}");
        let newest = format!("{version}-{}", revisions.last().unwrap());
        for name in ["kubelet", "kubeadm", "kubectl"] {
            assert!(
                simulated.contains(&format!("Inst {name} ({newest} ")),
                "{revisions:?}: {name} not at {newest}:\n{simulated}"
            );
        }
        let crictl = apt.run(&["-s", "install", "--no-install-recommends", "cri-tools"]);
        assert!(output_text(&crictl).contains("Inst cri-tools ("));
    }
}

/// An image with the packages installed and held at another revision (the usual image
/// recipe): the plan's version wins. Without `--allow-change-held-packages` apt refuses
/// under `-y` ("Held packages were changed"), which the step would report as a failure.
#[test]
fn packages_held_at_another_revision_are_replaced() {
    let (plan, script) = single();
    let version = plan.kubernetes_version.to_string();
    let apt = Apt::new(&version, &plan.package_minor, &["1.1", "2.1"]);
    let held: String = ["kubelet", "kubeadm", "kubectl"]
        .iter()
        .map(|name| {
            format!(
                "Package: {name}\nStatus: hold ok installed\nPriority: optional\nSection: admin\n\
                 Maintainer: image builder <img@example.org>\nArchitecture: amd64\n\
                 Version: {version}-1.1\nDescription: held by the image\n\n"
            )
        })
        .collect();
    std::fs::write(apt.path("status"), held).unwrap();
    let args = install_args(&plan, &script);
    let out = apt.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let text = output_text(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(&format!("Inst kubelet [{version}-1.1] ({version}-2.1 ")),
        "{text}"
    );
    // The flag is what makes it pass.
    let without: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| *a != "--allow-change-held-packages")
        .collect();
    let refused = apt.run(&without);
    assert!(!refused.status.success(), "{}", output_text(&refused));
    assert!(
        output_text(&refused).contains("Held packages were changed"),
        "{}",
        output_text(&refused)
    );
}
