fn main() {
    std::process::exit(k8sgen::cli::main());
}
