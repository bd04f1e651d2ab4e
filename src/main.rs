//! The `dq` binary: everything lives in the library; this maps the result
//! to an exit code.

fn main() {
    let code = dq::cli::main(std::env::args_os().collect());
    std::process::exit(code);
}
