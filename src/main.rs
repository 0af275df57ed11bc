fn main() -> std::process::ExitCode {
    k8sgen::cli::main()
}
