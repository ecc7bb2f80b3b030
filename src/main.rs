fn main() -> std::process::ExitCode {
    natter::cli::main()
}
