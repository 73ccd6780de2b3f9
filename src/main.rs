use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // reqwest is built without a default crypto provider; pick ring once, first.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = herald::cli::Cli::parse();
    // `doctor` reads the settings itself, to name every invalid one. Everything
    // else loads them here, so the OpenTelemetry exporter (whose blocking client
    // must live outside the async runtime) is installed before the runtime starts.
    let (settings, exporter) = if cli.is_doctor() {
        (None, None)
    } else {
        match prepare() {
            Ok((settings, exporter)) => (Some(settings), exporter),
            Err(e) => return failed(&e),
        }
    };
    let system = actix_web::rt::System::new();
    let result = system.block_on(herald::cli::main(cli, settings));
    // Left standing at exit: a drain may leave sends cut off mid-call, and some
    // clients (lettre's SMTP pool) spawn their cleanup from destructors, which
    // aborts the process once the runtime is gone. The OS closes their sockets.
    std::mem::forget(system);
    // After the drain: the spans of its last sends are flushed before exit.
    if let Some(exporter) = exporter {
        exporter.shutdown();
    }
    match result {
        Ok(code) => code,
        Err(e) => failed(&e),
    }
}

fn prepare() -> anyhow::Result<(herald::config::Settings, Option<herald::trace::Exporter>)> {
    let settings = herald::config::Settings::load()?;
    let otel = herald::trace::OtelConfig {
        endpoint: settings.otel_endpoint.as_deref(),
        service_name: &settings.otel_service_name,
        export_interval_ms: settings.otel_export_interval_ms,
    };
    let exporter = herald::trace::init(&settings.log, settings.log_format, &otel)?;
    Ok((settings, exporter))
}

/// The message and its causes on one line; never anyhow's Debug form, which
/// adds a stack backtrace whenever RUST_BACKTRACE is set.
fn failed(e: &anyhow::Error) -> ExitCode {
    eprintln!("error: {e:#}");
    ExitCode::FAILURE
}
