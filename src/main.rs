//! `trellis`: see `trellis --help`. Everything lives in the library; this only reads the command line,
//! the settings and starts telemetry.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = trellis::cli::Cli::parse();
    let settings = trellis::cli::load_settings()?;
    trellis::telemetry::init(&settings.telemetry);
    trellis::cli::run(cli, settings).await
}
