use clap::Parser;

fn main() -> anyhow::Result<()> {
    // reqwest is built without a default crypto provider; pick ring once, first.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = herald::cli::Cli::parse();
    let settings = herald::config::Settings::load()?;
    herald::telemetry::init(&settings.log, settings.log_format);
    actix_web::rt::System::new().block_on(herald::cli::run(cli, settings))
}
