use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // reqwest is built without a default crypto provider; pick ring once, first.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = herald::cli::Cli::parse();
    let system = actix_web::rt::System::new();
    let result = system.block_on(herald::cli::main(cli));
    // Left standing at exit: a drain may leave sends cut off mid-call, and some
    // clients (lettre's SMTP pool) spawn their cleanup from destructors, which
    // aborts the process once the runtime is gone. The OS closes their sockets.
    std::mem::forget(system);
    match result {
        Ok(code) => code,
        Err(e) => {
            // The message and its causes on one line; never anyhow's Debug form,
            // which adds a stack backtrace whenever RUST_BACKTRACE is set.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
