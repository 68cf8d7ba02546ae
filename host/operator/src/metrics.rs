//! Prometheus metrics served on `/metrics`.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BuildLabels {
    pub strategy: String,
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StrategyCallLabels {
    pub strategy: String,
    pub call: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TrapLabels {
    pub strategy: String,
    pub kind: String,
}

#[derive(Clone)]
pub struct Metrics {
    pub registry: Arc<Registry>,
    pub reconcile_duration: Histogram,
    pub reconcile_errors: Counter,
    pub validations: Family<ResultLabels, Counter>,
    pub builds: Family<BuildLabels, Counter>,
    pub strategy_call_seconds: Family<StrategyCallLabels, Histogram>,
    pub strategy_traps: Family<TrapLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("nbv");
        let reconcile_duration = Histogram::new(exponential_buckets(0.001, 2.0, 16));
        registry.register(
            "reconcile_duration_seconds",
            "Time spent in one reconcile of a NotebookValidationJob",
            reconcile_duration.clone(),
        );
        let reconcile_errors = Counter::default();
        registry.register(
            "reconcile_errors",
            "Reconciles that returned an error",
            reconcile_errors.clone(),
        );
        let validations = Family::<ResultLabels, Counter>::default();
        registry.register(
            "validations",
            "Finished validations by result",
            validations.clone(),
        );
        let builds = Family::<BuildLabels, Counter>::default();
        registry.register(
            "builds",
            "Finished image builds by strategy and result",
            builds.clone(),
        );
        let strategy_call_seconds =
            Family::<StrategyCallLabels, Histogram>::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.000_01, 2.0, 20))
            });
        registry.register(
            "strategy_call_seconds",
            "Latency of calls into build-strategy components",
            strategy_call_seconds.clone(),
        );
        let strategy_traps = Family::<TrapLabels, Counter>::default();
        registry.register(
            "strategy_traps",
            "Build-strategy calls that trapped",
            strategy_traps.clone(),
        );
        Self {
            registry: Arc::new(registry),
            reconcile_duration,
            reconcile_errors,
            validations,
            builds,
            strategy_call_seconds,
            strategy_traps,
        }
    }
}

impl Metrics {
    pub fn validation_finished(&self, result: &str) {
        self.validations
            .get_or_create(&ResultLabels {
                result: result.into(),
            })
            .inc();
    }

    pub fn build_finished(&self, strategy: &str, result: &str) {
        self.builds
            .get_or_create(&BuildLabels {
                strategy: strategy.into(),
                result: result.into(),
            })
            .inc();
    }

    pub fn strategy_call(&self, strategy: &str, call: &str, took: Duration) {
        self.strategy_call_seconds
            .get_or_create(&StrategyCallLabels {
                strategy: strategy.into(),
                call: call.into(),
            })
            .observe(took.as_secs_f64());
    }

    pub fn strategy_trap(&self, strategy: &str, kind: &str) {
        self.strategy_traps
            .get_or_create(&TrapLabels {
                strategy: strategy.into(),
                kind: kind.into(),
            })
            .inc();
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Encoding into a String cannot fail: fmt::Write on String is infallible.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
