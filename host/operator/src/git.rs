//! Resolves the notebook's (and golden notebook's) git refs to commits.

use nbv_crd::NotebookValidationJob;

use crate::context::Context;

pub struct Resolved {
    pub notebook: String,
    pub golden: Option<String>,
}

pub enum GitFailure {
    /// Retrying won't help: unknown ref, bad URL, rejected credentials.
    Permanent {
        reason: &'static str,
        message: String,
    },
    /// The remote may answer next time.
    Transient(String),
}

pub async fn resolve(job: &NotebookValidationJob, _ctx: &Context) -> Result<Resolved, GitFailure> {
    Err(GitFailure::Permanent {
        reason: "GitUnavailable",
        message: format!(
            "cannot resolve {}: git support is not built in yet",
            job.spec.notebook.git.url
        ),
    })
}
