//! The `dq` binary: everything lives in the library; this maps the result
//! to an exit code.

/// Large blocks on huge pages (see the module's docs for why).
#[global_allocator]
static ALLOCATOR: dq::exec::allocator::LargeBlocksOnHugePages = dq::exec::allocator::LargeBlocksOnHugePages;

fn main() {
    let code = dq::cli::main(std::env::args_os().collect());
    std::process::exit(code);
}
