//! The host side of the WIT imports, and the per-call store state. Every k8s
//! import goes through the [`Guard`] first; every call is recorded for the
//! harness and for tracing.

use std::sync::{Arc, Mutex};

use serde_json::Value;
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::nbv::build::{build, events, k8s, log, types};
use crate::cluster::Cluster;
use crate::{BuildContext, Guard, GuestError};

/// One host call as the strategy made it, for `nbv strategy test` and logs.
#[derive(Clone, Debug, PartialEq)]
pub struct HostCall {
    pub function: String,
    pub args: String,
    pub outcome: String,
}

/// What a call left behind besides its return value.
#[derive(Clone, Debug, Default)]
pub struct Transcript {
    pub calls: Vec<HostCall>,
    /// Lines the strategy sent to `events.build-log`.
    pub build_log: Vec<String>,
}

/// Caps linear memory; remembers that the cap was hit so the resulting trap
/// reads as "out of memory" rather than a bare `unreachable`.
pub(crate) struct Limiter {
    pub memory_bytes: usize,
    pub hit: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            self.hit = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: Limiter,
    pub(crate) stderr: MemoryOutputPipe,
    context: BuildContext,
    sandbox: Sandbox,
}

/// The guarded path to the cluster. Cloned into each import's future so the
/// future does not borrow the (non-`Sync`) WASI state across awaits.
#[derive(Clone)]
struct Sandbox {
    guard: Guard,
    cluster: Arc<dyn Cluster>,
    transcript: Arc<Mutex<Transcript>>,
    strategy_digest: String,
}

/// Bytes of guest stderr kept for error reports.
const STDERR_CAP: usize = 16 * 1024;

impl HostState {
    pub(crate) fn new(
        guard: Guard,
        context: BuildContext,
        cluster: Arc<dyn Cluster>,
        transcript: Arc<Mutex<Transcript>>,
        memory_bytes: usize,
        strategy_digest: &str,
    ) -> Self {
        let stderr = MemoryOutputPipe::new(STDERR_CAP);
        // No preopens, no environment, no arguments, no network: a strategy
        // reaches the world only through the nbv:build imports.
        let wasi = WasiCtx::builder()
            .stderr(stderr.clone())
            .allow_ip_name_lookup(false)
            .allow_tcp(false)
            .allow_udp(false)
            .build();
        HostState {
            wasi,
            table: ResourceTable::new(),
            limiter: Limiter {
                memory_bytes,
                hit: false,
            },
            stderr,
            context,
            sandbox: Sandbox {
                guard,
                cluster,
                transcript,
                strategy_digest: strategy_digest.to_string(),
            },
        }
    }

    pub(crate) fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr.contents()).into_owned()
    }
}

impl Sandbox {
    fn record<T: std::fmt::Debug>(&self, function: &str, args: String, outcome: &T) {
        let mut outcome = format!("{outcome:?}");
        if outcome.len() > 400 {
            let cut = (0..=400)
                .rev()
                .find(|i| outcome.is_char_boundary(*i))
                .unwrap_or(0);
            outcome.truncate(cut);
            outcome.push('…');
        }
        tracing::debug!(
            strategy = %self.guard.strategy(),
            digest = %self.strategy_digest,
            job = %self.guard.job().name,
            function, %args, %outcome, "host call"
        );
        if let Ok(mut t) = self.transcript.lock() {
            t.calls.push(HostCall {
                function: function.into(),
                args,
                outcome,
            });
        }
    }

    fn namespace(&self) -> String {
        self.guard.job().namespace.clone()
    }

    /// A pod a strategy may read logs of: one it labelled, or one owned by an
    /// object it labelled (a build pod owned by its Build, say).
    async fn may_read_pod(&self, pod: &str) -> Result<(), GuestError> {
        let ns = self.namespace();
        let object = self
            .cluster
            .get(&ns, "v1", "Pod", pod)
            .await?
            .ok_or_else(|| GuestError::NotFound(format!("pod {pod} in namespace {ns}")))?;
        if self.guard.owns(&object) {
            return Ok(());
        }
        let owners = object
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for owner in owners {
            let field = |k: &str| owner.get(k).and_then(Value::as_str).unwrap_or_default();
            if let Ok(Some(o)) = self
                .cluster
                .get(&ns, field("apiVersion"), field("kind"), field("name"))
                .await
                && self.guard.owns(&o)
            {
                return Ok(());
            }
        }
        Err(GuestError::Denied(format!(
            "pod {pod} was not created by strategy {} for job {}, nor is it owned by an object that was",
            self.guard.strategy(),
            self.guard.job().name
        )))
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl types::Host for HostState {}

impl Sandbox {
    async fn has_api_group(&self, group: String) -> bool {
        let result = self.cluster.has_api_group(&group).await;
        self.record("k8s.has-api-group", group, &result);
        // Discovery failing reads as "absent": detect then says no, and the
        // job reports that no strategy fits instead of crashing the guest.
        result.unwrap_or(false)
    }

    async fn get(
        &self,
        api_version: String,
        kind: String,
        name: String,
    ) -> Result<Option<String>, GuestError> {
        let args = format!("{api_version} {kind} {name}");
        let result = async {
            self.guard.kind(&api_version, &kind)?;
            let ns = self.namespace();
            match self.cluster.get(&ns, &api_version, &kind, &name).await? {
                // An object the strategy did not create is reported as absent:
                // it must not learn what else lives in the namespace.
                Some(o) if self.guard.owns(&o) => Ok(Some(o.to_string())),
                _ => Ok(None),
            }
        }
        .await;
        self.record("k8s.get", args, &result.as_ref().map(Option::is_some));
        result
    }

    async fn list(
        &self,
        api_version: String,
        kind: String,
        label_selector: String,
    ) -> Result<Vec<String>, GuestError> {
        let args = format!("{api_version} {kind} {label_selector:?}");
        let result = async {
            let declared = self.guard.kind(&api_version, &kind)?.clone();
            let selector = self.guard.selector(&label_selector);
            let ns = self.namespace();
            let items = self.cluster.list(&ns, &declared, &selector).await?;
            Ok(items
                .into_iter()
                .filter(|o| self.guard.owns(o))
                .map(|o| o.to_string())
                .collect::<Vec<_>>())
        }
        .await;
        self.record("k8s.list", args, &result.as_ref().map(Vec::len));
        result
    }

    async fn apply(&self, manifest: String) -> Result<String, GuestError> {
        let stamped = self.guard.stamp(&manifest);
        let args = match &stamped {
            Ok(s) => format!("{} {}", s.kind.kind, s.name),
            Err(_) => manifest.chars().take(200).collect(),
        };
        let result = async {
            let s = stamped?;
            let ns = self.namespace();
            let manager = self.guard.field_manager();
            let applied = self
                .cluster
                .apply(&ns, &s.kind, &s.name, &s.manifest, &manager)
                .await?;
            Ok(applied.to_string())
        }
        .await;
        self.record("k8s.apply", args, &result.as_ref().map(|_| "applied"));
        result
    }

    async fn delete(
        &self,
        api_version: String,
        kind: String,
        name: String,
    ) -> Result<bool, GuestError> {
        let args = format!("{api_version} {kind} {name}");
        let result = async {
            let declared = self.guard.kind(&api_version, &kind)?.clone();
            let ns = self.namespace();
            match self.cluster.get(&ns, &api_version, &kind, &name).await? {
                None => Ok(false),
                Some(o) if !self.guard.owns(&o) => Err(GuestError::Denied(format!(
                    "{kind} {name} was not created by strategy {} for job {}; strategies may only delete their own objects",
                    self.guard.strategy(),
                    self.guard.job().name
                ))),
                Some(_) => self.cluster.delete(&ns, &declared, &name).await,
            }
        }
        .await;
        self.record("k8s.delete", args, &result);
        result
    }

    async fn pod_logs(
        &self,
        pod: String,
        container: Option<String>,
        tail_lines: u32,
    ) -> Result<String, GuestError> {
        let args = format!("{pod} {container:?} {tail_lines}");
        let result = async {
            self.may_read_pod(&pod).await?;
            let ns = self.namespace();
            self.cluster
                .pod_logs(&ns, &pod, container.as_deref(), tail_lines)
                .await
        }
        .await;
        self.record(
            "k8s.pod-logs",
            args,
            &result.as_ref().map(|l| l.lines().count()),
        );
        result
    }
}

impl k8s::Host for HostState {
    async fn has_api_group(&mut self, group: String) -> bool {
        let sandbox = self.sandbox.clone();
        sandbox.has_api_group(group).await
    }
    async fn get(
        &mut self,
        api_version: String,
        kind: String,
        name: String,
    ) -> Result<Option<String>, GuestError> {
        let sandbox = self.sandbox.clone();
        sandbox.get(api_version, kind, name).await
    }
    async fn list(
        &mut self,
        api_version: String,
        kind: String,
        label_selector: String,
    ) -> Result<Vec<String>, GuestError> {
        let sandbox = self.sandbox.clone();
        sandbox.list(api_version, kind, label_selector).await
    }
    async fn apply(&mut self, manifest: String) -> Result<String, GuestError> {
        let sandbox = self.sandbox.clone();
        sandbox.apply(manifest).await
    }
    async fn delete(
        &mut self,
        api_version: String,
        kind: String,
        name: String,
    ) -> Result<bool, GuestError> {
        let sandbox = self.sandbox.clone();
        sandbox.delete(api_version, kind, name).await
    }
    async fn pod_logs(
        &mut self,
        pod: String,
        container: Option<String>,
        tail_lines: u32,
    ) -> Result<String, GuestError> {
        let sandbox = self.sandbox.clone();
        sandbox.pod_logs(pod, container, tail_lines).await
    }
}

impl build::Host for HostState {
    async fn context(&mut self) -> BuildContext {
        self.sandbox.record("build.context", String::new(), &"ok");
        self.context.clone()
    }
}

impl log::Host for HostState {
    async fn log(&mut self, level: log::Level, message: String) {
        let sb = &self.sandbox;
        let (strategy, digest, job) = (
            sb.guard.strategy(),
            &sb.strategy_digest,
            &sb.guard.job().name,
        );
        match level {
            log::Level::Debug => tracing::debug!(strategy, digest, job, "{message}"),
            log::Level::Info => tracing::info!(strategy, digest, job, "{message}"),
            log::Level::Warn => tracing::warn!(strategy, digest, job, "{message}"),
            log::Level::Error => tracing::error!(strategy, digest, job, "{message}"),
        }
        self.sandbox
            .record("log.log", format!("{level:?}"), &message);
    }
}

impl events::Host for HostState {
    async fn build_log(&mut self, line: String) {
        self.sandbox
            .record("events.build-log", String::new(), &line);
        if let Ok(mut t) = self.sandbox.transcript.lock() {
            // Bounded: a chatty strategy must not grow the operator's memory.
            if t.build_log.len() < 1000 {
                t.build_log.push(line);
            }
        }
    }
}
