//! Image builds through Wasm build strategies (nbv-runtime). Until a
//! strategy is registered, admission refuses `buildConfig.enabled` jobs with
//! `UnknownStrategy` and the list of what is available.

use std::path::PathBuf;
use std::time::Duration;

use kube::runtime::events::EventType;
use nbv_crd::{NotebookValidationJob, NotebookValidationJobStatus};

use crate::context::Context;
use crate::metrics::Metrics;
use crate::reconcile::{Error, Verdict};

#[derive(clap::Args, Debug, Clone, Default)]
pub struct StrategyArgs {
    /// Directory for precompiled strategy components (keyed by digest and engine).
    #[arg(long, env = "NBV_STRATEGY_CACHE")]
    pub strategy_cache: Option<PathBuf>,
}

/// The build strategies this operator can run, by name.
pub struct Strategies {
    names: Vec<String>,
}

impl Strategies {
    pub async fn load(
        _client: kube::Client,
        _args: &StrategyArgs,
        _namespace: &str,
        _metrics: Metrics,
    ) -> anyhow::Result<Self> {
        Ok(Self { names: Vec::new() })
    }

    pub fn contains(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    pub fn names(&self) -> Vec<String> {
        if self.names.is_empty() {
            return vec!["(none registered)".into()];
        }
        self.names.clone()
    }
}

pub enum Progress {
    Waiting {
        requeue: Duration,
        changed: bool,
        events: Vec<(EventType, &'static str, String)>,
    },
    Ready {
        image: String,
        events: Vec<(EventType, &'static str, String)>,
    },
    Failed(Verdict),
}

pub async fn drive(
    job: &NotebookValidationJob,
    _status: &mut NotebookValidationJobStatus,
    ctx: &Context,
) -> Result<Progress, Error> {
    let name = job
        .spec
        .pod_config
        .build_config
        .as_ref()
        .map(|b| b.strategy.clone())
        .unwrap_or_default();
    Ok(Progress::Failed(Verdict::failed(
        "UnknownStrategy",
        format!(
            "build strategy {name:?} is not registered; available: {}",
            ctx.strategies.names().join(", ")
        ),
    )))
}

/// Finalizer: asks the strategy to delete its build objects. Everything else
/// the job owns goes with it through owner references.
pub async fn cleanup(_job: &NotebookValidationJob, _ctx: &Context) -> Result<(), Error> {
    Ok(())
}
