//! Labels and annotations nbv puts on everything it creates, so objects can be
//! found by job and cleaned up, and so strategy-created objects are traceable.

use std::collections::BTreeMap;

pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const MANAGER: &str = "nbv";
pub const JOB: &str = "nbv.mlops.dev/job";
pub const ATTEMPT: &str = "nbv.mlops.dev/attempt";
pub const COMMIT_ANNOTATION: &str = "nbv.mlops.dev/commit";
pub const FINALIZER: &str = "nbv.mlops.dev/cleanup";

pub fn for_job(job: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (MANAGED_BY.to_string(), MANAGER.to_string()),
        (JOB.to_string(), nbv_runtime::guard::job_label_value(job)),
    ])
}

/// Selector matching every object nbv created for `job`.
pub fn selector(job: &str) -> String {
    format!(
        "{MANAGED_BY}={MANAGER},{JOB}={}",
        nbv_runtime::guard::job_label_value(job)
    )
}
