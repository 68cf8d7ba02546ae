//! What every reconcile shares.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use kube::Client;
use kube::runtime::events::Recorder;

use crate::build::Strategies;
use crate::metrics::Metrics;

/// Settings from the command line / environment of `nbv operator`.
#[derive(Clone, Debug)]
pub struct Config {
    /// Image holding the static `nbv` binary at /usr/local/bin/nbv; the
    /// validation pod's init containers run it.
    pub runner_image: String,
    /// Namespace the operator runs in: leases and strategy registrations live here.
    pub namespace: String,
    pub watch_namespace: Option<String>,
}

pub struct Context {
    pub client: Client,
    pub recorder: Recorder,
    pub metrics: Metrics,
    pub config: Config,
    pub strategies: Strategies,
    /// Set once the job API answered; `/readyz` reports it.
    pub ready: Arc<AtomicBool>,
}
