use clap::Parser;

fn main() -> anyhow::Result<()> {
    // reqwest is built without a default crypto provider; pick ring once, first.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = herald::cli::Cli::parse();
    let settings = herald::config::Settings::load()?;
    let otel = herald::trace::OtelConfig {
        endpoint: settings.otel_endpoint.as_deref(),
        service_name: &settings.otel_service_name,
        export_interval_ms: settings.otel_export_interval_ms,
    };
    let exporter = herald::trace::init(&settings.log, settings.log_format, &otel)?;
    let system = actix_web::rt::System::new();
    let result = system.block_on(herald::cli::run(cli, settings));
    // Left standing at exit: a drain may leave sends cut off mid-call, and some
    // clients (lettre's SMTP pool) spawn their cleanup from destructors, which
    // aborts the process once the runtime is gone. The OS closes their sockets.
    std::mem::forget(system);
    // After the drain: the spans of its last sends are flushed before exit.
    if let Some(exporter) = exporter {
        exporter.shutdown();
    }
    result
}
