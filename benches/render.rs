//! Speed report (prints figures; asserts nothing about time, so it never flakes):
//! secrets generation per key algorithm, and the whole `k8sgen render` process for
//! 3 masters + 1,000 workers. Run with `cargo bench --bench render`.

// The tests' helpers: `edit_text` refuses an edit whose text the profile no longer has.
#[path = "../tests/common/mod.rs"]
mod common;

use k8sgen::pki::{self, KeyAlgorithm, OsEntropy, SystemClock};
use std::process::Command;
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    for (alg, runs) in [(KeyAlgorithm::EcdsaP256, 50), (KeyAlgorithm::Rsa2048, 5)] {
        let times: Vec<Duration> = (0..runs)
            .map(|_| {
                let t = Instant::now();
                pki::generate(alg, &SystemClock, &mut OsEntropy).unwrap();
                t.elapsed()
            })
            .collect();
        println!(
            "secrets generate {:<11} median {:>8.2} ms over {runs} runs",
            alg.kubeadm_name(),
            median(times).as_secs_f64() * 1e3
        );
    }

    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("k8sgen-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let spec = common::edit_text(
        include_str!("../profiles/openstack-ha.yaml"),
        &[
            (
                "    count: 3\n    flavor: m1.xlarge",
                "    count: 1000\n    flavor: m1.xlarge",
            ),
            ("cidr: 10.0.0.0/24", "cidr: 10.0.0.0/20"),
        ],
    );
    std::fs::write(dir.join("cluster.yaml"), spec).unwrap();
    let bin = env!("CARGO_BIN_EXE_k8sgen");
    let run = |args: &[&str]| {
        let t = Instant::now();
        let out = Command::new(bin)
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        t.elapsed()
    };
    run(&["secrets", "generate", "--out", "secrets.yaml"]);
    let first = run(&["render", "-f", "cluster.yaml", "--out", "out"]);
    let times: Vec<Duration> = (0..5)
        .map(|_| run(&["render", "-f", "cluster.yaml", "--out", "out"]))
        .collect();
    let gz: Vec<Duration> = (0..3)
        .map(|_| run(&["render", "-f", "cluster.yaml", "--out", "out-gz", "--gzip"]))
        .collect();
    let files = std::fs::read_dir(dir.join("out")).unwrap().count();
    println!(
        "render 3 masters + 1000 workers: first run (issues leaves) {:.0} ms",
        first.as_secs_f64() * 1e3
    );
    println!(
        "render 3 masters + 1000 workers: whole process median {:.0} ms over 5 runs ({files} files)",
        median(times).as_secs_f64() * 1e3
    );
    println!(
        "render 3 masters + 1000 workers --gzip: whole process median {:.0} ms over 3 runs",
        median(gz).as_secs_f64() * 1e3
    );
    // The same compile in-process, without file I/O, to separate compute from writing.
    let spec_text = std::fs::read_to_string(dir.join("cluster.yaml")).unwrap();
    let spec = k8sgen::spec::load("bench", &spec_text).unwrap();
    let mut secrets = pki::Secrets::from_yaml(
        "bench",
        &std::fs::read_to_string(dir.join("secrets.yaml")).unwrap(),
    )
    .unwrap();
    let times: Vec<Duration> = (0..5)
        .map(|_| {
            let t = Instant::now();
            let c = k8sgen::compile::compile(
                &spec,
                &mut secrets,
                &|_| None,
                &SystemClock,
                &mut OsEntropy,
                Default::default(),
            )
            .unwrap();
            assert_eq!(c.user_data.len(), 1003);
            t.elapsed()
        })
        .collect();
    println!(
        "compile 1003 nodes in-process (no I/O): median {:.0} ms over 5 runs",
        median(times).as_secs_f64() * 1e3
    );
    let _ = std::fs::remove_dir_all(&dir);
}
