//! `nbv operator`: reconciles NotebookValidationJobs.

pub mod admission;
pub mod build;
pub mod compare_config;
pub mod conditions;
pub mod context;
pub mod controller;
pub mod git;
pub mod http;
pub mod labels;
pub mod leader;
pub mod metrics;
pub mod outcome;
pub mod pod;
pub mod reconcile;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use kube::api::{Api, ListParams};
use kube::runtime::events::{Recorder, Reporter};
use nbv_crd::NotebookValidationJob;

/// Arguments of `nbv operator`.
#[derive(clap::Args, Debug, Clone)]
pub struct OperatorArgs {
    /// Image carrying the static nbv binary, used by the validation pod's init containers.
    #[arg(long, env = "NBV_RUNNER_IMAGE")]
    pub runner_image: String,
    /// The operator's own namespace (leases and strategy registrations).
    #[arg(long, env = "POD_NAMESPACE", default_value = "nbv-system")]
    pub namespace: String,
    /// Where /metrics, /healthz and /readyz are served.
    #[arg(long, env = "NBV_METRICS_ADDR", default_value = "0.0.0.0:8080")]
    pub metrics_addr: SocketAddr,
    /// Run only while holding the leader Lease (set false for a single replica in tests).
    #[arg(long, env = "NBV_LEADER_ELECT", default_value_t = true, action = clap::ArgAction::Set)]
    pub leader_elect: bool,
    /// Identity in the leader Lease; the pod name in a Deployment.
    #[arg(long, env = "POD_NAME", default_value = "nbv-operator")]
    pub identity: String,
    /// Reconcile jobs in this namespace only (default: all namespaces).
    #[arg(long, env = "NBV_WATCH_NAMESPACE")]
    pub watch_namespace: Option<String>,
    #[command(flatten)]
    pub strategies: build::StrategyArgs,
}

/// Selects ring as rustls' process-wide provider; both ring and aws-lc-rs are
/// compiled in, and rustls refuses to guess. Later calls are no-ops.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Starts everything and runs until `shutdown` resolves or leadership is lost.
pub async fn run(
    client: kube::Client,
    args: OperatorArgs,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) -> anyhow::Result<()> {
    install_crypto_provider();
    let metrics = metrics::Metrics::default();
    let ready = Arc::new(AtomicBool::new(false));
    let (addr, _server) = http::serve(
        args.metrics_addr,
        http::Health {
            ready: ready.clone(),
            metrics: metrics.clone(),
        },
    )
    .await?;
    tracing::info!(%addr, "serving /metrics, /healthz, /readyz");

    let _leadership = if args.leader_elect {
        // Operators scoped to different namespaces don't compete for one lease.
        let lease = match &args.watch_namespace {
            Some(ns) => format!("{}-{ns}", leader::LEASE_NAME),
            None => leader::LEASE_NAME.to_string(),
        };
        Some(leader::acquire(client.clone(), &args.namespace, &lease, &args.identity).await?)
    } else {
        None
    };

    let strategies = build::Strategies::load(client.clone(), &args.strategies).await?;
    let ctx = Arc::new(context::Context {
        client: client.clone(),
        recorder: Recorder::new(
            client.clone(),
            Reporter {
                controller: "nbv-operator".into(),
                instance: Some(args.identity.clone()),
            },
        ),
        metrics,
        config: context::Config {
            runner_image: args.runner_image,
            namespace: args.namespace,
            watch_namespace: args.watch_namespace.clone(),
        },
        strategies,
        ready: ready.clone(),
    });
    // Ready once the job API answers: before that, the CRD may not be installed.
    let jobs: Api<NotebookValidationJob> = match &args.watch_namespace {
        Some(ns) => Api::namespaced(client, ns),
        None => Api::all(client),
    };
    jobs.list(&ListParams::default().limit(1)).await?;
    ready.store(true, Ordering::Relaxed);
    let registrations = tokio::spawn(build::watch_registrations(ctx.clone()));
    controller::run(ctx, shutdown).await;
    registrations.abort();
    Ok(())
}
