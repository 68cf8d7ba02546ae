//! The `nbv` command: local validation, the operator, and strategy tooling.
//!
//! Each subcommand's arguments and logic live in the crate that owns it; this
//! file only dispatches, so the in-pod runner build (`--no-default-features`)
//! carries nothing but the runner.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "nbv", version, about = "Validate Jupyter notebooks locally and on Kubernetes")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("NBV_LOG").unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn main() -> std::process::ExitCode {
    init_tracing();
    let cli = Cli::parse();
    match cli.command {}
}
