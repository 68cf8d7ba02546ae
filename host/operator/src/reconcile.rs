//! The state machine: `Pending → Building (if buildConfig.enabled) →
//! ValidationRunning → Succeeded | Failed`.
//!
//! Every step is idempotent: object names are deterministic, creation treats
//! AlreadyExists as success, and the phase is persisted before the next step,
//! so an operator restart anywhere resumes without a duplicate build, pod or
//! event. Events are published only after the status patch that records the
//! transition succeeded.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Pod, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use kube::{Resource, ResourceExt};
use nbv_crd::{NotebookValidationJob, NotebookValidationJobStatus, Phase};
use tracing::{info, instrument, warn};

use crate::conditions::{self, State};
use crate::context::Context;
use crate::outcome::{self, PodOutcome};
use crate::{admission, build, git, labels, pod};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("finalizer: {0}")]
    Finalizer(String),
    #[error("git: {0}")]
    GitTransient(String),
    #[error("build strategy: {0}")]
    BuildTransient(String),
    #[error("{0}")]
    Internal(String),
}

/// Bounded backoff for infrastructure retries (image pull, eviction).
pub const MAX_INFRA_RETRIES: i64 = 3;

/// A terminal verdict with the reason that conditions and events carry.
pub struct Verdict {
    pub phase: Phase,
    pub reason: &'static str,
    pub message: String,
}

impl Verdict {
    pub fn failed(reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            phase: Phase::Failed,
            reason,
            message: message.into(),
        }
    }
}

fn now() -> Time {
    Time(Timestamp::now())
}

pub fn key_secret_name(job: &str) -> String {
    format!("{job}-nbv-result-key")
}

#[instrument(skip_all, fields(job = %job.name_any(), ns = job.namespace().unwrap_or_default()))]
pub async fn apply(job: Arc<NotebookValidationJob>, ctx: Arc<Context>) -> Result<Action, Error> {
    let status = job.status.clone().unwrap_or_default();
    let phase = status.phase.unwrap_or_default();
    if phase.is_terminal() {
        return Ok(Action::await_change());
    }
    match phase {
        Phase::Building => build_step(&job, status, &ctx).await,
        Phase::ValidationRunning | Phase::Running | Phase::BuildComplete => {
            validation_step(&job, status, &ctx).await
        }
        _ => start_step(&job, status, &ctx).await,
    }
}

/// Validates the spec, resolves the git refs, and picks the next phase.
async fn start_step(
    job: &NotebookValidationJob,
    mut status: NotebookValidationJobStatus,
    ctx: &Context,
) -> Result<Action, Error> {
    let generation = job.metadata.generation;
    status.observed_generation = generation;
    status.start_time.get_or_insert_with(now);

    if let Err(e) = admission::check(job, ctx) {
        return finish(job, status, ctx, Verdict::failed(e.reason(), e.to_string())).await;
    }

    if status.resolved_commit.is_none() {
        match git::resolve(job, ctx).await {
            Ok(resolved) => {
                status.resolved_commit = Some(resolved.notebook);
                status.resolved_golden_commit = resolved.golden;
            }
            Err(git::GitFailure::Permanent { reason, message }) => {
                return finish(job, status, ctx, Verdict::failed(reason, message)).await;
            }
            Err(git::GitFailure::Transient(message)) => return Err(Error::GitTransient(message)),
        }
    }

    let build_enabled = job
        .spec
        .pod_config
        .build_config
        .as_ref()
        .is_some_and(|b| b.enabled);
    let (next, reason, message) = if build_enabled {
        (
            Phase::Building,
            "BuildPending",
            "resolving dependencies and starting the image build".to_string(),
        )
    } else {
        (
            Phase::ValidationRunning,
            "Starting",
            "starting the validation pod".to_string(),
        )
    };
    status.phase = Some(next);
    status.message = message.clone();
    conditions::set(
        &mut status.conditions,
        conditions::READY,
        State::False,
        reason,
        &message,
        generation,
    );
    if !build_enabled {
        conditions::set(
            &mut status.conditions,
            conditions::BUILD_READY,
            State::True,
            "NotRequired",
            "buildConfig is not enabled; using podConfig.containerImage",
            generation,
        );
    }
    patch_status(job, &status, ctx).await?;
    let note = format!(
        "resolved {} to {}",
        job.spec.notebook.git.r#ref,
        status.resolved_commit.as_deref().unwrap_or("?")
    );
    publish(job, ctx, EventType::Normal, "Resolved", "ResolveGit", note).await;
    Ok(Action::requeue(Duration::ZERO))
}

async fn build_step(
    job: &NotebookValidationJob,
    mut status: NotebookValidationJobStatus,
    ctx: &Context,
) -> Result<Action, Error> {
    let generation = job.metadata.generation;
    match build::drive(job, &mut status, ctx).await? {
        build::Progress::Waiting {
            requeue,
            changed,
            events,
        } => {
            if changed {
                patch_status(job, &status, ctx).await?;
            }
            for (type_, reason, note) in events {
                publish(job, ctx, type_, reason, "Build", note).await;
            }
            Ok(Action::requeue(requeue))
        }
        build::Progress::Ready { image, events } => {
            let message = format!("image {image} is ready");
            conditions::set(
                &mut status.conditions,
                conditions::BUILD_READY,
                State::True,
                "BuildSucceeded",
                &message,
                generation,
            );
            status.phase = Some(Phase::ValidationRunning);
            status.message = "starting the validation pod".into();
            patch_status(job, &status, ctx).await?;
            for (type_, reason, note) in events {
                publish(job, ctx, type_, reason, "Build", note).await;
            }
            Ok(Action::requeue(Duration::ZERO))
        }
        build::Progress::Failed(verdict) => {
            conditions::set(
                &mut status.conditions,
                conditions::BUILD_READY,
                State::False,
                verdict.reason,
                &verdict.message,
                generation,
            );
            finish(job, status, ctx, verdict).await
        }
    }
}

/// The image the notebook runs in: the built image pinned by digest, or the user's.
fn run_image(job: &NotebookValidationJob, status: &NotebookValidationJobStatus) -> String {
    status
        .build_status
        .as_ref()
        .map(|b| b.image_reference.clone())
        .filter(|i| !i.is_empty())
        .unwrap_or_else(|| job.spec.pod_config.container_image.clone())
}

async fn ensure_key_secret(job: &NotebookValidationJob, ctx: &Context) -> Result<Vec<u8>, Error> {
    let ns = job.namespace().unwrap_or_default();
    let name = key_secret_name(&job.name_any());
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), &ns);
    let existing = api.get_opt(&name).await?;
    if let Some(key) = existing
        .as_ref()
        .and_then(|s| s.data.as_ref())
        .and_then(|d| d.get("key"))
    {
        return Ok(key.0.clone());
    }
    let mut key = vec![0u8; 32];
    getrandom::fill(&mut key)
        .map_err(|e| Error::Internal(format!("no randomness for the result key: {e}")))?;
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace: Some(ns),
            labels: Some(labels::for_job(&job.name_any())),
            owner_references: Some(vec![
                pod::owner_reference(job).map_err(|e| Error::Internal(e.to_string()))?,
            ]),
            ..Default::default()
        },
        data: Some([("key".to_string(), ByteString(key.clone()))].into()),
        type_: Some("Opaque".into()),
        ..Default::default()
    };
    match api.create(&PostParams::default(), &secret).await {
        Ok(_) => Ok(key),
        // A concurrent reconcile (or one before a restart) won: use its key.
        Err(kube::Error::Api(e)) if e.code == 409 => {
            let existing = api.get(&name).await?;
            existing
                .data
                .and_then(|d| d.get("key").map(|k| k.0.clone()))
                .ok_or_else(|| Error::Internal(format!("secret {name} has no key")))
        }
        Err(e) => Err(e.into()),
    }
}

async fn validation_step(
    job: &NotebookValidationJob,
    mut status: NotebookValidationJobStatus,
    ctx: &Context,
) -> Result<Action, Error> {
    let generation = job.metadata.generation;
    let ns = job.namespace().unwrap_or_default();
    let name = job.name_any();
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    let pod_name = pod::pod_name(&name, status.retry_count);
    let key = ensure_key_secret(job, ctx).await?;

    let existing = pods.get_opt(&pod_name).await?;
    let Some(current) = existing else {
        let Some(commit) = status.resolved_commit.clone() else {
            return Err(Error::Internal(
                "ValidationRunning without a resolved commit".into(),
            ));
        };
        let plan = pod::PodPlan {
            job,
            image: run_image(job, &status),
            runner_image: ctx.config.runner_image.clone(),
            notebook_commit: commit,
            golden_commit: status.resolved_golden_commit.clone(),
            key_secret: key_secret_name(&name),
            attempt: status.retry_count,
        };
        let manifest = match pod::build(&plan) {
            Ok(p) => p,
            Err(e) => {
                return finish(
                    job,
                    status,
                    ctx,
                    Verdict::failed("InvalidPodConfig", e.to_string()),
                )
                .await;
            }
        };
        let created = match pods.create(&PostParams::default(), &manifest).await {
            Ok(_) => true,
            Err(kube::Error::Api(e)) if e.code == 409 => false,
            Err(kube::Error::Api(e)) if e.code == 422 || e.code == 400 => {
                let msg = format!(
                    "the validation pod was rejected by the API server: {}",
                    e.message
                );
                return finish(job, status, ctx, Verdict::failed("InvalidPodConfig", msg)).await;
            }
            Err(e) => return Err(e.into()),
        };
        let message = format!("validation pod {pod_name} is running the notebook");
        status.validation_pod_name = pod_name.clone();
        status.message = message.clone();
        status.phase = Some(Phase::ValidationRunning);
        conditions::set(
            &mut status.conditions,
            conditions::READY,
            State::False,
            "Running",
            &message,
            generation,
        );
        patch_status(job, &status, ctx).await?;
        if created {
            publish(
                job,
                ctx,
                EventType::Normal,
                "PodCreated",
                "CreatePod",
                message,
            )
            .await;
        }
        return Ok(Action::requeue(Duration::from_secs(30)));
    };

    match outcome::from_pod(&current, &key) {
        PodOutcome::Running => Ok(Action::requeue(Duration::from_secs(30))),
        PodOutcome::InfrastructureFailure { reason, message } => {
            if status.retry_count >= MAX_INFRA_RETRIES {
                let msg = format!(
                    "{message}; gave up after {} attempts",
                    status.retry_count + 1
                );
                return finish(job, status, ctx, Verdict::failed(reason, msg)).await;
            }
            // Retries are for the platform's failures only, never the notebook's.
            let backoff = Duration::from_secs(10 * 2u64.pow(status.retry_count as u32));
            status.retry_count += 1;
            status.last_retry_time = Some(now());
            status.message = format!("{message}; retrying (attempt {})", status.retry_count + 1);
            patch_status(job, &status, ctx).await?;
            if let Err(e) = pods.delete(&pod_name, &Default::default()).await {
                warn!(error = %e, pod = %pod_name, "could not delete the failed pod");
            }
            publish(
                job,
                ctx,
                EventType::Warning,
                reason,
                "RetryPod",
                status.message.clone(),
            )
            .await;
            Ok(Action::requeue(backoff))
        }
        PodOutcome::Finished(result) => {
            let verdict = outcome::apply_result(&mut status, *result, generation);
            finish(job, status, ctx, verdict).await
        }
        PodOutcome::Failed { reason, message } => {
            conditions::set(
                &mut status.conditions,
                conditions::EXECUTED,
                State::False,
                reason,
                &message,
                generation,
            );
            finish(job, status, ctx, Verdict::failed(reason, message)).await
        }
    }
}

/// Records a terminal verdict once: status first, then the event and metric.
pub async fn finish(
    job: &NotebookValidationJob,
    mut status: NotebookValidationJobStatus,
    ctx: &Context,
    verdict: Verdict,
) -> Result<Action, Error> {
    let generation = job.metadata.generation;
    let ready = if verdict.phase == Phase::Succeeded {
        State::True
    } else {
        State::False
    };
    conditions::set(
        &mut status.conditions,
        conditions::READY,
        ready,
        verdict.reason,
        &verdict.message,
        generation,
    );
    status.phase = Some(verdict.phase);
    status.message = verdict.message.clone();
    status.observed_generation = generation;
    status.completion_time = Some(now());
    patch_status(job, &status, ctx).await?;
    let (type_, result) = if verdict.phase == Phase::Succeeded {
        (EventType::Normal, "succeeded")
    } else {
        (EventType::Warning, "failed")
    };
    ctx.metrics.validation_finished(result);
    info!(
        reason = verdict.reason,
        "validation {result}: {}", verdict.message
    );
    publish(job, ctx, type_, verdict.reason, "Validate", verdict.message).await;
    Ok(Action::await_change())
}

pub async fn patch_status(
    job: &NotebookValidationJob,
    status: &NotebookValidationJobStatus,
    ctx: &Context,
) -> Result<(), Error> {
    let api: Api<NotebookValidationJob> =
        Api::namespaced(ctx.client.clone(), &job.namespace().unwrap_or_default());
    let patch = serde_json::json!({ "status": status });
    api.patch_status(
        &job.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await?;
    Ok(())
}

/// Events are best effort: a failed event must never fail the reconcile.
pub async fn publish(
    job: &NotebookValidationJob,
    ctx: &Context,
    type_: EventType,
    reason: &str,
    action: &str,
    note: String,
) {
    let mut note = note;
    if note.len() > 1000 {
        let mut cut = 1000;
        while !note.is_char_boundary(cut) {
            cut -= 1;
        }
        note.truncate(cut);
    }
    let event = Event {
        type_,
        reason: reason.into(),
        note: Some(note),
        action: action.into(),
        secondary: None,
    };
    if let Err(e) = ctx.recorder.publish(&event, &job.object_ref(&())).await {
        warn!(error = %e, "could not publish event");
    }
}
