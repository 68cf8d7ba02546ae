//! Resolves the notebook's (and golden notebook's) git refs to commits, once
//! per job: the job then stays on those commits whatever the branch does.

use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use kube::api::Api;
use nbv_crd::{GitSpec, NotebookValidationJob};
use nbv_deps::git::{self, Credentials, GitError};

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

pub(crate) async fn credentials(
    job: &NotebookValidationJob,
    spec: &GitSpec,
    ctx: &Context,
) -> Result<Option<Credentials>, GitFailure> {
    if spec.credentials_secret.is_empty() {
        return Ok(None);
    }
    let secrets: Api<Secret> =
        Api::namespaced(ctx.client.clone(), &job.namespace().unwrap_or_default());
    let name = &spec.credentials_secret;
    let secret = match secrets.get_opt(name).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            return Err(GitFailure::Permanent {
                reason: "GitCredentialsMissing",
                message: format!(
                    "credentialsSecret {name:?} does not exist in this namespace; create it with username/password or token"
                ),
            });
        }
        Err(e) => return Err(GitFailure::Transient(format!("reading secret {name}: {e}"))),
    };
    let data = secret.data.unwrap_or_default();
    git::credentials_from(|k| {
        data.get(k)
            .map(|v| String::from_utf8_lossy(&v.0).into_owned())
    })
    .map_err(|e| GitFailure::Permanent {
        reason: "GitCredentialsInvalid",
        message: format!("credentialsSecret {name:?}: {e}"),
    })
}

async fn resolve_one(
    job: &NotebookValidationJob,
    spec: &GitSpec,
    ctx: &Context,
) -> Result<String, GitFailure> {
    let creds = credentials(job, spec, ctx).await?;
    let (url, git_ref) = (spec.url.clone(), spec.r#ref.clone());
    // gix's client is blocking; keep it off the reconcile workers.
    let result = tokio::task::spawn_blocking(move || git::resolve_ref(&url, &git_ref, creds))
        .await
        .map_err(|e| GitFailure::Transient(e.to_string()))?;
    result.map_err(|e: GitError| {
        if e.is_permanent() {
            GitFailure::Permanent {
                reason: e.reason(),
                message: e.to_string(),
            }
        } else {
            GitFailure::Transient(e.to_string())
        }
    })
}

pub async fn resolve(job: &NotebookValidationJob, ctx: &Context) -> Result<Resolved, GitFailure> {
    let notebook = resolve_one(job, &job.spec.notebook.git, ctx).await?;
    let golden = match &job.spec.golden_notebook {
        Some(g) if g.git == job.spec.notebook.git => Some(notebook.clone()),
        Some(g) => Some(resolve_one(job, &g.git, ctx).await?),
        None => None,
    };
    Ok(Resolved { notebook, golden })
}
