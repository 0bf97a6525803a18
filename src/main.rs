//! `trellis`: see `trellis --help`. Everything lives in the library; this only reads the command line,
//! the settings and starts telemetry.

use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of glibc's allocator: under load, glibc's malloc/free/consolidate were 11% of the
/// server's CPU (docs/PERFORMANCE.md, the HTTP benchmark).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = trellis::cli::Cli::parse();
    let result = async {
        let settings = trellis::cli::load_settings()?;
        trellis::telemetry::init(&settings.telemetry);
        trellis::cli::run(cli, settings).await
    }
    .await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // The whole chain of causes, without a backtrace: this is for an operator, not a debugger.
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
