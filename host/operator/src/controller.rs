//! The kube-rs Controller: watches jobs and the pods they own.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::runtime::watcher;
use nbv_crd::NotebookValidationJob;
use tracing::{info, warn};

use crate::context::Context;
use crate::reconcile::{self, Error};
use crate::{build, labels};

async fn reconcile(job: Arc<NotebookValidationJob>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let ns = job.namespace().unwrap_or_default();
    let api: Api<NotebookValidationJob> = Api::namespaced(ctx.client.clone(), &ns);
    let result = finalizer(&api, labels::FINALIZER, job, |event| async {
        match event {
            FinalizerEvent::Apply(job) => reconcile::apply(job, ctx.clone()).await,
            FinalizerEvent::Cleanup(job) => build::cleanup(&job, &ctx)
                .await
                .map(|_| Action::await_change()),
        }
    })
    .await
    .map_err(|e| match e {
        kube::runtime::finalizer::Error::ApplyFailed(e)
        | kube::runtime::finalizer::Error::CleanupFailed(e) => e,
        other => Error::Finalizer(other.to_string()),
    });
    ctx.metrics
        .reconcile_duration
        .observe(started.elapsed().as_secs_f64());
    result
}

fn error_policy(job: Arc<NotebookValidationJob>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.metrics.reconcile_errors.inc();
    warn!(job = %job.name_any(), %error, "reconcile failed; retrying");
    Action::requeue(Duration::from_secs(15))
}

/// Runs until the shutdown future resolves.
pub async fn run(
    ctx: Arc<Context>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let client = ctx.client.clone();
    let (jobs, pods): (Api<NotebookValidationJob>, Api<Pod>) = match &ctx.config.watch_namespace {
        Some(ns) => (
            Api::namespaced(client.clone(), ns),
            Api::namespaced(client, ns),
        ),
        None => (Api::all(client.clone()), Api::all(client)),
    };
    info!("controller starting");
    Controller::new(jobs, watcher::Config::default().any_semantic())
        .owns(
            pods,
            watcher::Config::default().labels(&format!(
                "{}={}",
                labels::MANAGED_BY,
                labels::MANAGER
            )),
        )
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|res| {
            if let Err(e) = res {
                tracing::debug!(error = %e, "reconcile result");
            }
            futures::future::ready(())
        })
        .await;
}
