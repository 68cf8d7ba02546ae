//! The `nbv` command: local validation, the operator, and strategy tooling.
//!
//! Each subcommand's arguments and logic live in the crate that owns it; this
//! file only dispatches, so the in-pod runner build (`--no-default-features`)
//! carries nothing but the runner.

use clap::{Parser, Subcommand};

#[cfg(feature = "operator")]
mod fetch;
mod install;
#[cfg(feature = "operator")]
mod strategy;

#[derive(Parser)]
#[command(
    name = "nbv",
    version,
    about = "Validate Jupyter notebooks locally and on Kubernetes"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Execute a notebook on a Jupyter kernel and compare it with a golden notebook
    /// (with no notebook: the embedded demo).
    Run(Box<nbv_runner::cli::RunArgs>),
    /// Copy this binary and the job's result key into the validation pod (init container).
    Install(install::InstallArgs),
    /// Check out a repository at a commit (the validation pod's fetch init container).
    #[cfg(feature = "operator")]
    Fetch(fetch::FetchArgs),
    /// Run the operator that reconciles NotebookValidationJobs.
    #[cfg(feature = "operator")]
    Operator(nbv_operator::OperatorArgs),
    /// Build-strategy tooling: test a strategy component against a job.
    #[cfg(feature = "operator")]
    Strategy(strategy::StrategyArgs),
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    // zeromq logs a reconnect warning when the kernel's sockets close at
    // shutdown, which is expected; keep it out of the default output.
    let filter = EnvFilter::try_from_env("NBV_LOG")
        .unwrap_or_else(|_| EnvFilter::new("warn,zeromq::reconnect=error"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn main() -> std::process::ExitCode {
    init_tracing();
    // Both ring and aws-lc-rs are compiled in (kube, gix); rustls won't guess.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => nbv_runner::cli::run(*args),
        Command::Install(args) => install::run(args),
        #[cfg(feature = "operator")]
        Command::Fetch(args) => fetch::run(args),
        #[cfg(feature = "operator")]
        Command::Operator(args) => operator(args),
        #[cfg(feature = "operator")]
        Command::Strategy(args) => strategy::run(args),
    }
}

#[cfg(feature = "operator")]
fn operator(args: nbv_operator::OperatorArgs) -> std::process::ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("nbv operator: cannot start the async runtime: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async {
        let client = kube::Client::try_default().await?;
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        nbv_operator::run(client, args, shutdown).await
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nbv operator: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}
