//! Image builds through Wasm build strategies (nbv-runtime).
//!
//! The first reconcile in `Building` resolves the dependencies at the
//! resolved commit (ADR-024 tiers), derives the cache key, reuses a cached
//! image when one exists, and otherwise calls the strategy's `create-build`
//! and records the strategy's digest. Later reconciles poll `build-status`
//! on that exact digest, so an operator upgrade never switches a build in
//! flight to another strategy version.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::api::{Api, ObjectMeta, Patch, PatchParams};
use kube::runtime::events::EventType;
use nbv_crd::{BuildStatus, NotebookValidationJob, NotebookValidationJobStatus};
use nbv_deps::requirements::{self, Fallback, ResolveOptions, Tier};
use nbv_runtime::{
    BuildContext, BuildPhase, Call, Cluster, JobRef, KubeCluster, Limits, Registry,
    RequirementsTier, Runtime, RuntimeError, Strategy,
};

use crate::context::Context;
use crate::reconcile::{Error, Verdict};
use crate::{git, labels};

#[derive(clap::Args, Debug, Clone, Default)]
pub struct StrategyArgs {
    /// Directory for precompiled strategy components (keyed by digest and engine).
    #[arg(long, env = "NBV_STRATEGY_CACHE")]
    pub strategy_cache: Option<PathBuf>,
    /// Registry repository prefix built images are pushed to, e.g.
    /// `registry.example.com/nbv` (images go to `<prefix>/<namespace>/<job>:<key>`).
    /// S2I pushes to an ImageStream instead and does not need it.
    #[arg(long, env = "NBV_BUILD_REGISTRY", default_value = "")]
    pub build_registry: String,
    /// Registries (`host:port`) strategy components may be pulled from over
    /// plain HTTP, e.g. an in-cluster mirror. Comma-separated.
    #[arg(
        long = "insecure-registry",
        env = "NBV_INSECURE_REGISTRIES",
        value_delimiter = ','
    )]
    pub insecure_registries: Vec<String>,
    /// Do not load the built-in strategies (only registered ones).
    #[arg(long, env = "NBV_NO_BUILTIN_STRATEGIES")]
    pub no_builtin_strategies: bool,
}

pub type Event = (EventType, &'static str, String);

/// The build strategies this operator can run, by name.
pub struct Strategies {
    pub registry: Registry,
    build_registry: String,
    /// Where every strategy's (guarded) Kubernetes calls go.
    cluster: Arc<dyn Cluster>,
}

impl Strategies {
    pub async fn load(client: kube::Client, args: &StrategyArgs) -> anyhow::Result<Self> {
        let runtime = Runtime::new(args.strategy_cache.clone())?;
        let registry =
            Registry::new(runtime).with_insecure_registries(args.insecure_registries.clone());
        if !args.no_builtin_strategies {
            for e in registry
                .register_builtins(nbv_builtin::STRATEGIES, Limits::default())
                .await
            {
                tracing::error!("built-in strategy failed to load: {e}");
            }
        }
        Ok(Self {
            registry,
            build_registry: args.build_registry.trim_end_matches('/').to_string(),
            cluster: Arc::new(KubeCluster::new(client)),
        })
    }

    /// One export call for `job` with `context`, against the cluster.
    fn call(&self, job: &NotebookValidationJob, context: BuildContext) -> Call {
        let job_ref = JobRef::new(
            &job.name_any(),
            &job.namespace().unwrap_or_default(),
            job.metadata.uid.as_deref().unwrap_or_default(),
        );
        Call::new(job_ref, context, self.cluster.clone())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.registry.get(name).is_some()
    }

    pub fn names(&self) -> Vec<String> {
        let names = self.registry.names();
        if names.is_empty() {
            return vec!["(none registered)".into()];
        }
        names
    }
}

pub enum Progress {
    Waiting {
        requeue: Duration,
        changed: bool,
        events: Vec<Event>,
    },
    Ready {
        image: String,
        events: Vec<Event>,
    },
    Failed(Verdict),
}

fn now() -> Time {
    Time(Timestamp::now())
}

/// How often a running build is polled.
const POLL: Duration = Duration::from_secs(3);
/// Build log lines kept in status.
const LOG_TAIL: usize = 20;

fn failed(reason: &'static str, message: impl Into<String>) -> Result<Progress, Error> {
    Ok(Progress::Failed(Verdict::failed(reason, message)))
}

/// A runtime error as the job sees it: transient ones retry the reconcile,
/// the rest fail the job with the runtime's reason.
fn runtime_failure(e: RuntimeError, ctx: &Context, strategy: &str) -> Result<Progress, Error> {
    if e.is_trap() {
        let kind = match e {
            RuntimeError::Deadline { .. } => "deadline",
            RuntimeError::OutOfMemory { .. } => "memory",
            RuntimeError::Panic { .. } => "panic",
            _ => "trap",
        };
        ctx.metrics.strategy_trap(strategy, kind);
    }
    if e.is_transient() {
        return Err(Error::BuildTransient(e.to_string()));
    }
    ctx.metrics.build_finished(strategy, "error");
    failed(e.reason(), e.to_string())
}

fn tier_from_status(s: &str) -> RequirementsTier {
    match s {
        "requirementsFile" => RequirementsTier::RequirementsFile,
        "autoGenerated" => RequirementsTier::AutoGenerated,
        "pipMagics" => RequirementsTier::PipMagics,
        _ => RequirementsTier::BaseImageOnly,
    }
}

/// A DNS-1123 label (≤ 50 chars, leaving room for strategy suffixes) unique
/// to the job and its inputs.
pub fn build_name(job: &str, key: &str) -> String {
    let mut base: String = job
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(40)
        .collect();
    while base.ends_with('-') {
        base.pop();
    }
    format!("{base}-{}", &key[..8.min(key.len())])
}

fn cache_map_name(key: &str) -> String {
    format!("nbv-build-cache-{}", &key[..20.min(key.len())])
}

/// hash(commit + requirements + base image + strategy digest): equal inputs
/// give the same image, so a repeat job reuses it.
pub fn cache_key(
    commit: &str,
    requirements: &str,
    base_image: &str,
    strategy_digest: &str,
) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for part in [commit, requirements, base_image, strategy_digest] {
        ctx.update(&(part.len() as u64).to_be_bytes());
        ctx.update(part.as_bytes());
    }
    hex::encode(ctx.finish())
}

/// Everything the strategy's `build` import hands out for this job.
fn context(
    job: &NotebookValidationJob,
    status: &NotebookValidationJobStatus,
    strategies: &Strategies,
    strategy: &Strategy,
) -> Result<BuildContext, Verdict> {
    let spec = &job.spec;
    let bc = spec.pod_config.build_config.clone().unwrap_or_default();
    let bs = status.build_status.clone().unwrap_or_default();
    let ns = job.namespace().unwrap_or_default();
    let key = bs.cache_key.clone();
    let params: Vec<(String, String)> = bc.strategy_config.clone().into_iter().collect();
    let parameters = strategy
        .parameters(&params)
        .map_err(|e| Verdict::failed(e.reason(), e.to_string()))?;
    let timeout = nbv_crd::parse_go_duration(&bc.timeout)
        .map_err(|e| Verdict::failed("InvalidSpec", format!("buildConfig.timeout: {e}")))?;
    let path = spec.notebook.path.as_str();
    let context_dir = path
        .rsplit_once('/')
        .map(|(d, _)| d)
        .unwrap_or("")
        .to_string();
    let output_image = if strategies.build_registry.is_empty() {
        String::new()
    } else {
        // One repository per namespace, tagged by cache key: equal inputs
        // from any job land on the same tag.
        format!(
            "{}/{}/nbv-notebook:{}",
            strategies.build_registry,
            ns,
            &key[..32.min(key.len())]
        )
    };
    let mut requirements = bs.requirements.join("\n");
    if !requirements.is_empty() {
        requirements.push('\n');
    }
    Ok(BuildContext {
        job_name: job.name_any(),
        namespace: ns,
        source_url: spec.notebook.git.url.clone(),
        commit: status.resolved_commit.clone().unwrap_or_default(),
        context_dir,
        notebook_path: path.to_string(),
        git_credentials_secret: Some(spec.notebook.git.credentials_secret.clone())
            .filter(|s| !s.is_empty()),
        requirements,
        requirements_tier: tier_from_status(&bs.requirements_source),
        dockerfile: Some(bc.dockerfile.clone()).filter(|d| !d.is_empty()),
        base_image: bc.base_image.clone(),
        output_image,
        build_name: bs.build_name.clone(),
        cache_key: key,
        parameters,
        timeout_seconds: timeout.as_secs(),
    })
}

/// Resolves the requirements at the job's commit, in a scratch checkout.
async fn resolve_requirements(
    job: &NotebookValidationJob,
    commit: &str,
    ctx: &Context,
) -> Result<Result<requirements::Resolved, Verdict>, Error> {
    let spec = &job.spec;
    let bc = spec.pod_config.build_config.clone().unwrap_or_default();
    let creds = match git::credentials(job, &spec.notebook.git, ctx).await {
        Ok(c) => c,
        Err(git::GitFailure::Permanent { reason, message }) => {
            return Ok(Err(Verdict::failed(reason, message)));
        }
        Err(git::GitFailure::Transient(m)) => return Err(Error::GitTransient(m)),
    };
    let fallback: Fallback = match bc.fallback_strategy.parse() {
        Ok(f) => f,
        Err(e) => {
            return Ok(Err(Verdict::failed(
                "InvalidSpec",
                format!("buildConfig.fallbackStrategy: {e}"),
            )));
        }
    };
    let opts = ResolveOptions {
        requirements_file: Some(bc.requirements_file.clone()).filter(|f| !f.is_empty()),
        requirements_sources: bc.requirements_sources.clone(),
        auto_generate: bc.auto_generate_requirements,
        fallback,
    };
    let (url, commit, path) = (
        spec.notebook.git.url.clone(),
        commit.to_string(),
        spec.notebook.path.clone(),
    );
    tokio::task::spawn_blocking(move || {
        let dir =
            tempfile::tempdir().map_err(|e| Error::Internal(format!("scratch checkout: {e}")))?;
        match nbv_deps::git::checkout(&url, &commit, creds, dir.path()) {
            Ok(_) => {}
            Err(e) if e.is_permanent() => {
                return Ok(Err(Verdict::failed(e.reason(), e.to_string())));
            }
            Err(e) => return Err(Error::GitTransient(e.to_string())),
        }
        Ok(requirements::resolve(dir.path(), &path, &opts)
            .map_err(|e| Verdict::failed(e.reason(), e.to_string())))
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?
}

async fn cached_image(ns: &str, key: &str, ctx: &Context) -> Result<Option<String>, Error> {
    let maps: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), ns);
    Ok(maps
        .get_opt(&cache_map_name(key))
        .await?
        .and_then(|cm| cm.data)
        .and_then(|d| d.get("image").cloned())
        .filter(|i| i.contains("@sha256:")))
}

/// Remembers the image for this cache key. Not owned by the job: the image
/// outlives it, which is the point of the cache.
async fn remember_image(
    ns: &str,
    key: &str,
    image: &str,
    strategy: &str,
    ctx: &Context,
) -> Result<(), Error> {
    let maps: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), ns);
    let cm = ConfigMap {
        metadata: ObjectMeta {
            name: Some(cache_map_name(key)),
            labels: Some([(labels::MANAGED_BY.to_string(), labels::MANAGER.to_string())].into()),
            ..Default::default()
        },
        data: Some(
            [
                ("image".to_string(), image.to_string()),
                ("cacheKey".to_string(), key.to_string()),
                ("strategy".to_string(), strategy.to_string()),
            ]
            .into(),
        ),
        ..Default::default()
    };
    maps.patch(
        &cache_map_name(key),
        &PatchParams::apply("nbv-operator").force(),
        &Patch::Apply(&cm),
    )
    .await?;
    Ok(())
}

/// Times one strategy export for the call-latency metric.
async fn timed<T>(
    ctx: &Context,
    strategy: &str,
    call: &'static str,
    f: impl std::future::Future<Output = Result<T, RuntimeError>>,
) -> Result<T, RuntimeError> {
    let started = Instant::now();
    let r = f.await;
    ctx.metrics.strategy_call(strategy, call, started.elapsed());
    r
}

fn build_log_events(call: &Call) -> Vec<Event> {
    call.transcript()
        .build_log
        .into_iter()
        .take(20)
        .map(|l| (EventType::Normal, "BuildLog", l))
        .collect()
}

pub async fn drive(
    job: &NotebookValidationJob,
    status: &mut NotebookValidationJobStatus,
    ctx: &Context,
) -> Result<Progress, Error> {
    let bc = job.spec.pod_config.build_config.clone().unwrap_or_default();
    let started = status
        .build_status
        .as_ref()
        .is_some_and(|b| !b.strategy_digest.is_empty());
    if started {
        poll(job, status, ctx, &bc.strategy).await
    } else {
        start(job, status, ctx, &bc).await
    }
}

async fn start(
    job: &NotebookValidationJob,
    status: &mut NotebookValidationJobStatus,
    ctx: &Context,
    bc: &nbv_crd::BuildConfigSpec,
) -> Result<Progress, Error> {
    let name = bc.strategy.as_str();
    let Some(strategy) = ctx.strategies.registry.get(name) else {
        return failed(
            "UnknownStrategy",
            ctx.strategies.registry.unknown(name).to_string(),
        );
    };
    let commit = status.resolved_commit.clone().unwrap_or_default();
    let resolved = match resolve_requirements(job, &commit, ctx).await? {
        Ok(r) => r,
        Err(v) => return Ok(Progress::Failed(v)),
    };
    let mut events: Vec<Event> = Vec::new();
    let text = requirements::requirements_txt(&resolved);
    if resolved.tier == Tier::BaseImageOnly {
        events.push((
            EventType::Warning,
            "RequirementsNotFound",
            resolved
                .warnings
                .first()
                .cloned()
                .unwrap_or_else(|| "building from the base image only".into()),
        ));
    } else {
        events.push((
            EventType::Normal,
            "RequirementsResolved",
            format!(
                "tier {} ({}): {} requirement(s) from {}",
                resolved.tier.number(),
                resolved.tier,
                resolved.requirements.len(),
                resolved.source
            ),
        ));
    }
    let key = cache_key(&commit, &text, &bc.base_image, &strategy.digest);
    let ns = job.namespace().unwrap_or_default();
    let mut bs = BuildStatus {
        phase: "Pending".into(),
        strategy: strategy.name.clone(),
        strategy_digest: strategy.digest.clone(),
        cache_key: key.clone(),
        build_name: build_name(&job.name_any(), &key),
        requirements_source: resolved.tier.as_str().into(),
        requirements: resolved.requirements.clone(),
        start_time: Some(now()),
        ..Default::default()
    };
    if let Some(image) = cached_image(&ns, &key, ctx).await? {
        bs.phase = "Complete".into();
        bs.cached = true;
        bs.image_reference = image.clone();
        bs.message = format!(
            "reused the image built earlier for cache key {}",
            &key[..16]
        );
        bs.completion_time = Some(now());
        status.build_status = Some(bs);
        ctx.metrics.build_finished(&strategy.name, "cached");
        events.push((
            EventType::Normal,
            "BuildCached",
            format!("same commit, requirements, base image and strategy as an earlier build: reusing {image}"),
        ));
        return Ok(Progress::Ready { image, events });
    }
    status.build_status = Some(bs);
    let build_ctx = match context(job, status, &ctx.strategies, &strategy) {
        Ok(c) => c,
        Err(v) => return Ok(Progress::Failed(v)),
    };
    // Without --build-registry the push strategies need strategyConfig.registry;
    // they say so themselves (the operator does not know their parameters).
    let call = ctx.strategies.call(job, build_ctx);
    match timed(ctx, &strategy.name, "detect", strategy.detect(&call)).await {
        Ok(true) => {}
        Ok(false) => {
            return failed(
                "StrategyUnavailable",
                format!(
                    "strategy {} cannot build on this cluster ({}); pick another buildConfig.strategy (available: {})",
                    strategy.name,
                    if strategy.description.requires_groups.is_empty() {
                        "its detect() said no".to_string()
                    } else {
                        format!(
                            "it needs the API groups {}",
                            strategy.description.requires_groups.join(", ")
                        )
                    },
                    ctx.strategies.names().join(", ")
                ),
            );
        }
        Err(e) => return runtime_failure(e, ctx, &strategy.name),
    }
    let build = match timed(
        ctx,
        &strategy.name,
        "create-build",
        strategy.create_build(&call),
    )
    .await
    {
        Ok(b) => b,
        Err(e) => return runtime_failure(e, ctx, &strategy.name),
    };
    events.extend(build_log_events(&call));
    if let Some(bs) = status.build_status.as_mut() {
        bs.build_name = build.clone();
        bs.message = format!("build {build} created by strategy {}", strategy.name);
    }
    events.push((
        EventType::Normal,
        "BuildStarted",
        format!(
            "strategy {} ({}) created build {build}",
            strategy.name,
            &strategy.digest[..19]
        ),
    ));
    Ok(Progress::Waiting {
        requeue: POLL,
        changed: true,
        events,
    })
}

async fn poll(
    job: &NotebookValidationJob,
    status: &mut NotebookValidationJobStatus,
    ctx: &Context,
    name: &str,
) -> Result<Progress, Error> {
    let bs = status.build_status.clone().unwrap_or_default();
    let Some(strategy) = ctx.strategies.registry.pinned(&bs.strategy_digest) else {
        // After a restart, registrations may still be loading; if the
        // version is gone for good, the message says which one.
        return Err(Error::BuildTransient(format!(
            "strategy {name} version {} is not loaded (currently: {})",
            bs.strategy_digest,
            ctx.strategies
                .registry
                .get(name)
                .map(|s| s.digest.clone())
                .unwrap_or_else(|| "none".into())
        )));
    };
    let build_ctx = match context(job, status, &ctx.strategies, &strategy) {
        Ok(c) => c,
        Err(v) => return Ok(Progress::Failed(v)),
    };
    let limit = Duration::from_secs(build_ctx.timeout_seconds);
    let call = ctx.strategies.call(job, build_ctx);
    let build = bs.build_name.clone();
    let elapsed = bs
        .start_time
        .as_ref()
        .and_then(|t| Timestamp::now().duration_since(t.0).try_into().ok())
        .unwrap_or(Duration::ZERO);
    let state = match timed(
        ctx,
        &strategy.name,
        "build-status",
        strategy.build_status(&call, &build),
    )
    .await
    {
        Ok(s) => s,
        Err(e) => return runtime_failure(e, ctx, &strategy.name),
    };
    let mut events = build_log_events(&call);
    let tail = |lines: Vec<String>| {
        let start = lines.len().saturating_sub(LOG_TAIL);
        lines[start..].to_vec()
    };
    let phase = match state.phase {
        BuildPhase::Pending => "Pending",
        BuildPhase::Running => "Running",
        BuildPhase::Complete => "Complete",
        BuildPhase::Failed => "Failed",
        BuildPhase::Cancelled => "Cancelled",
    };
    let mut next = bs.clone();
    next.message = state.message.clone();
    next.phase = phase.into();
    match state.phase {
        BuildPhase::Pending | BuildPhase::Running => {
            if elapsed > limit {
                // Stop the build so it does not keep burning the cluster.
                let _ = strategy.delete_build(&call, &build).await;
                next.phase = "Failed".into();
                next.message = format!("build exceeded buildConfig.timeout ({}s)", limit.as_secs());
                status.build_status = Some(next);
                ctx.metrics.build_finished(&strategy.name, "timeout");
                return failed(
                    "BuildTimeout",
                    format!(
                        "build {build} did not finish within buildConfig.timeout ({}); raise the timeout or slim the requirements",
                        job.spec
                            .pod_config
                            .build_config
                            .as_ref()
                            .map(|b| b.timeout.clone())
                            .unwrap_or_default()
                    ),
                );
            }
            let changed = next.phase != bs.phase || next.message != bs.message;
            if changed && state.phase == BuildPhase::Running && bs.phase != "Running" {
                events.push((
                    EventType::Normal,
                    "BuildRunning",
                    format!("build {build} is running"),
                ));
            }
            status.build_status = Some(next);
            Ok(Progress::Waiting {
                requeue: POLL,
                changed,
                events,
            })
        }
        BuildPhase::Complete => {
            let image = match timed(
                ctx,
                &strategy.name,
                "built-image",
                strategy.built_image(&call, &build),
            )
            .await
            {
                Ok(i) => i,
                Err(e) => return runtime_failure(e, ctx, &strategy.name),
            };
            if let Ok(lines) = strategy.logs(&call, &build).await {
                next.log_tail = tail(lines);
            }
            next.image_reference = image.clone();
            next.completion_time = Some(now());
            next.duration = nbv_crd::format_go_duration(elapsed);
            status.build_status = Some(next);
            remember_image(
                &job.namespace().unwrap_or_default(),
                &bs.cache_key,
                &image,
                &strategy.name,
                ctx,
            )
            .await?;
            ctx.metrics.build_finished(&strategy.name, "succeeded");
            events.push((
                EventType::Normal,
                "BuildSucceeded",
                format!("build {build} produced {image}"),
            ));
            Ok(Progress::Ready { image, events })
        }
        BuildPhase::Failed | BuildPhase::Cancelled => {
            if let Ok(lines) = strategy.logs(&call, &build).await {
                next.log_tail = tail(lines);
            }
            next.completion_time = Some(now());
            let cancelled = state.phase == BuildPhase::Cancelled;
            let timed_out = state.message.to_ascii_lowercase().contains("timeout")
                || state.message.to_ascii_lowercase().contains("deadline");
            status.build_status = Some(next);
            let (reason, result) = if cancelled {
                ("BuildCancelled", "cancelled")
            } else if timed_out {
                ("BuildTimeout", "timeout")
            } else {
                ("BuildFailed", "failed")
            };
            ctx.metrics.build_finished(&strategy.name, result);
            let mut message = format!(
                "build {build} {}: {}",
                phase.to_ascii_lowercase(),
                state.message
            );
            if let Some(last) = status.build_status.as_ref().and_then(|b| b.log_tail.last()) {
                message.push_str(&format!(" (last log line: {last})"));
            }
            let _ = events;
            failed(reason, message)
        }
    }
}

/// Finalizer: the strategy deletes what it built (owner references then
/// let the garbage collector take anything left).
pub async fn cleanup(job: &NotebookValidationJob, ctx: &Context) -> Result<(), Error> {
    let Some(bs) = job.status.as_ref().and_then(|s| s.build_status.as_ref()) else {
        return Ok(());
    };
    if bs.build_name.is_empty() || bs.strategy_digest.is_empty() || bs.cached {
        return Ok(());
    }
    let Some(strategy) = ctx.strategies.registry.pinned(&bs.strategy_digest) else {
        tracing::warn!(job = %job.name_any(), "strategy version {} not loaded; leaving build objects to the garbage collector", bs.strategy_digest);
        return Ok(());
    };
    let status = job.status.clone().unwrap_or_default();
    let Ok(build_ctx) = context(job, &status, &ctx.strategies, &strategy) else {
        return Ok(());
    };
    let call = ctx.strategies.call(job, build_ctx);
    match timed(
        ctx,
        &strategy.name,
        "delete-build",
        strategy.delete_build(&call, &bs.build_name),
    )
    .await
    {
        Ok(()) => Ok(()),
        Err(e) if e.is_transient() => Err(Error::BuildTransient(e.to_string())),
        // A strategy bug must not block deletion forever: the GC removes
        // everything it created through the owner references.
        Err(e) => {
            tracing::warn!(job = %job.name_any(), "delete-build failed, relying on garbage collection: {e}");
            Ok(())
        }
    }
}

/// Keeps the registry in step with the registration ConfigMaps in the
/// operator's namespace (label `nbv.mlops.dev/strategy`). A version that
/// fails to load leaves the previous one serving; the failure is logged and
/// named in the message of any job that asks for that strategy.
pub async fn watch_registrations(ctx: Arc<Context>) {
    use futures::StreamExt;
    use kube::runtime::{WatchStreamExt, watcher};
    let maps: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &ctx.config.namespace);
    let config = watcher::Config::default().labels(nbv_runtime::sources::STRATEGY_LABEL);
    let mut stream = watcher(maps, config).default_backoff().boxed();
    while let Some(event) = stream.next().await {
        match event {
            Ok(watcher::Event::Apply(cm) | watcher::Event::InitApply(cm)) => {
                if let Err(e) = ctx.strategies.registry.register_config_map(&cm).await {
                    tracing::error!(configmap = %cm.name_any(), "strategy registration failed: {e}");
                }
            }
            Ok(watcher::Event::Delete(cm)) => {
                if let Some(name) = cm.labels().get(nbv_runtime::sources::STRATEGY_LABEL) {
                    ctx.strategies.registry.unregister(name);
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("watching strategy registrations: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_keys_change_with_every_input_and_are_unambiguous() {
        let base = cache_key("c", "pandas\n", "img", "sha256:1");
        assert_eq!(base, cache_key("c", "pandas\n", "img", "sha256:1"));
        for other in [
            cache_key("d", "pandas\n", "img", "sha256:1"),
            cache_key("c", "numpy\n", "img", "sha256:1"),
            cache_key("c", "pandas\n", "img2", "sha256:1"),
            cache_key("c", "pandas\n", "img", "sha256:2"),
            // Moving bytes between fields must not collide.
            cache_key("cp", "andas\n", "img", "sha256:1"),
        ] {
            assert_ne!(base, other);
        }
    }

    #[test]
    fn build_names_are_dns_labels() {
        let n = build_name(
            "My.Job_With-A-Very-Long-Name-That-Goes-On-And-On-Forever",
            "0123456789abcdef",
        );
        assert!(n.len() <= 50, "{n}");
        assert!(n.ends_with("-01234567"), "{n}");
        assert!(
            n.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{n}"
        );
        assert!(!n.starts_with('-'));
    }
}
