//! A loaded strategy: verified bytes, checked imports, a pre-instantiated
//! component, and its self-description. Each export call gets a fresh store
//! and instance with the memory limit and epoch deadline.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing::Instrument;
use wasmtime::Store;
use wasmtime::component::types::ComponentItem;

use crate::bindings::BuildStrategyPre;
use crate::cluster::{Cluster, NoCluster};
use crate::engine::{Compiled, EPOCH_TICK, Runtime};
use crate::host::{HostState, Transcript};
use crate::{BuildContext, BuildState, Description, Guard, GuestError, JobRef, RuntimeError};

/// The import namespaces a strategy may use. WASI filesystem is linked but
/// without preopens it reaches nothing; sockets and HTTP are not allowed at all.
const ALLOWED_IMPORTS: &[&str] = &[
    "nbv:build/",
    "wasi:cli/",
    "wasi:io/",
    "wasi:clocks/",
    "wasi:random/",
    "wasi:filesystem/",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub memory_bytes: usize,
    pub deadline: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 64 << 20,
            deadline: Duration::from_secs(30),
        }
    }
}

/// One export call's inputs: which job, what to build, and where k8s calls go.
#[derive(Clone)]
pub struct Call {
    pub job: JobRef,
    pub context: BuildContext,
    pub cluster: Arc<dyn Cluster>,
    pub transcript: Arc<Mutex<Transcript>>,
}

impl Call {
    pub fn new(job: JobRef, context: BuildContext, cluster: Arc<dyn Cluster>) -> Self {
        Call {
            job,
            context,
            cluster,
            transcript: Arc::default(),
        }
    }

    /// Host calls and build log lines recorded so far.
    pub fn transcript(&self) -> Transcript {
        self.transcript
            .lock()
            .map(|t| t.clone())
            .unwrap_or_default()
    }
}

pub struct Strategy {
    runtime: Runtime,
    pre: BuildStrategyPre<HostState>,
    pub name: String,
    pub digest: String,
    pub description: Description,
    pub limits: Limits,
    pub compiled: Compiled,
}

impl std::fmt::Debug for Strategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Strategy")
            .field("name", &self.name)
            .field("digest", &self.digest)
            .finish()
    }
}

/// A blank build context for the calls made before any job (describe, name).
fn empty_context() -> BuildContext {
    BuildContext {
        job_name: String::new(),
        namespace: String::new(),
        source_url: String::new(),
        commit: String::new(),
        context_dir: String::new(),
        notebook_path: String::new(),
        git_credentials_secret: None,
        requirements: String::new(),
        requirements_tier: crate::RequirementsTier::BaseImageOnly,
        dockerfile: None,
        base_image: String::new(),
        output_image: String::new(),
        build_name: String::new(),
        cache_key: String::new(),
        parameters: Vec::new(),
        timeout_seconds: 0,
    }
}

impl Strategy {
    /// Verifies, checks and compiles a component, then asks it to describe itself.
    pub async fn load(
        runtime: &Runtime,
        bytes: &[u8],
        expected_digest: Option<&str>,
        limits: Limits,
    ) -> Result<Arc<Strategy>, RuntimeError> {
        let digest = crate::digest(bytes);
        if let Some(expected) = expected_digest
            && expected != digest
        {
            return Err(RuntimeError::DigestMismatch {
                expected: expected.into(),
                actual: digest,
            });
        }
        if !bytes.starts_with(b"\0asm") {
            return Err(RuntimeError::InvalidComponent(
                "not a WebAssembly binary (no \\0asm header); build it with `cargo build --target wasm32-wasip2`".into(),
            ));
        }
        let (component, compiled) = runtime.compile(&digest, bytes)?;
        let ty = component.component_type();
        for (name, _) in ty.imports(runtime.engine()) {
            if !ALLOWED_IMPORTS.iter().any(|p| name.starts_with(p)) {
                return Err(RuntimeError::ForbiddenImport {
                    import: name.to_string(),
                });
            }
        }
        let exports_strategy = ty.exports(runtime.engine()).any(|(name, item)| {
            name.starts_with("nbv:build/strategy@")
                && matches!(item.ty, ComponentItem::ComponentInstance(_))
        });
        if !exports_strategy {
            return Err(RuntimeError::MissingExport(
                "nbv:build/strategy@0.1.0".into(),
            ));
        }
        let instance_pre = runtime
            .linker()
            .instantiate_pre(&component)
            .map_err(|e| RuntimeError::InvalidComponent(format!("{e:#}")))?;
        let pre = BuildStrategyPre::new(instance_pre)
            .map_err(|e| RuntimeError::InvalidComponent(format!("{e:#}")))?;
        let mut strategy = Strategy {
            runtime: runtime.clone(),
            pre,
            name: String::new(),
            digest,
            description: Description {
                name: String::new(),
                version: String::new(),
                summary: String::new(),
                parameters: Vec::new(),
                kinds: Vec::new(),
                requires_groups: Vec::new(),
            },
            limits,
            compiled,
        };
        let call = Call::new(
            JobRef::new("", "", ""),
            empty_context(),
            Arc::new(NoCluster),
        );
        let description = strategy
            .invoke(&call, "describe", |s, store| {
                Box::pin(async move { s.nbv_build_strategy().call_describe(store).await })
            })
            .await?;
        let name = strategy
            .invoke(&call, "name", |s, store| {
                Box::pin(async move { s.nbv_build_strategy().call_name(store).await })
            })
            .await?;
        if name.is_empty() || name != description.name {
            return Err(RuntimeError::InvalidComponent(format!(
                "name() returned {name:?} but describe() says {:?}; they must agree and not be empty",
                description.name
            )));
        }
        strategy.name = name;
        strategy.description = description;
        Ok(Arc::new(strategy))
    }

    /// Checks `strategyConfig` against the declared parameters and fills defaults.
    pub fn parameters(
        &self,
        given: &[(String, String)],
    ) -> Result<Vec<(String, String)>, RuntimeError> {
        let declared = &self.description.parameters;
        let known: Vec<&str> = declared.iter().map(|p| p.name.as_str()).collect();
        if let Some((k, _)) = given.iter().find(|(k, _)| !known.contains(&k.as_str())) {
            return Err(RuntimeError::Parameters(format!(
                "strategy {} has no parameter {k:?}; it accepts: {}",
                self.name,
                if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                }
            )));
        }
        let mut out = Vec::new();
        for p in declared {
            match given.iter().find(|(k, _)| *k == p.name) {
                Some((k, v)) => out.push((k.clone(), v.clone())),
                None if p.required => {
                    return Err(RuntimeError::Parameters(format!(
                        "strategy {} needs buildConfig.strategyConfig.{} ({})",
                        self.name, p.name, p.description
                    )));
                }
                None => {
                    if let Some(d) = &p.default_value {
                        out.push((p.name.clone(), d.clone()));
                    }
                }
            }
        }
        Ok(out)
    }

    pub async fn detect(&self, call: &Call) -> Result<bool, RuntimeError> {
        self.invoke(call, "detect", |s, store| {
            Box::pin(async move { s.nbv_build_strategy().call_detect(store).await })
        })
        .await
    }

    pub async fn create_build(&self, call: &Call) -> Result<String, RuntimeError> {
        let r = self
            .invoke(call, "create-build", |s, store| {
                Box::pin(async move { s.nbv_build_strategy().call_create_build(store).await })
            })
            .await?;
        self.guest(r, "create-build")
    }

    pub async fn build_status(&self, call: &Call, build: &str) -> Result<BuildState, RuntimeError> {
        let build = build.to_string();
        let r = self
            .invoke(call, "build-status", move |s, store| {
                Box::pin(async move {
                    s.nbv_build_strategy()
                        .call_build_status(store, &build)
                        .await
                })
            })
            .await?;
        self.guest(r, "build-status")
    }

    pub async fn built_image(&self, call: &Call, build: &str) -> Result<String, RuntimeError> {
        let build = build.to_string();
        let r = self
            .invoke(call, "built-image", move |s, store| {
                Box::pin(
                    async move { s.nbv_build_strategy().call_built_image(store, &build).await },
                )
            })
            .await?;
        let image = self.guest(r, "built-image")?;
        // The contract is digest pinning; a tag could move under the job.
        if !image.contains("@sha256:") {
            return Err(RuntimeError::Guest {
                strategy: self.name.clone(),
                export: "built-image",
                error: GuestError::Invalid(format!(
                    "{image:?} is not pinned by digest (repo@sha256:...)"
                )),
            });
        }
        Ok(image)
    }

    pub async fn logs(&self, call: &Call, build: &str) -> Result<Vec<String>, RuntimeError> {
        let build = build.to_string();
        let r = self
            .invoke(call, "logs", move |s, store| {
                Box::pin(async move { s.nbv_build_strategy().call_logs(store, &build).await })
            })
            .await?;
        self.guest(r, "logs")
    }

    pub async fn delete_build(&self, call: &Call, build: &str) -> Result<(), RuntimeError> {
        let build = build.to_string();
        let r = self
            .invoke(call, "delete-build", move |s, store| {
                Box::pin(async move {
                    s.nbv_build_strategy()
                        .call_delete_build(store, &build)
                        .await
                })
            })
            .await?;
        self.guest(r, "delete-build")
    }

    fn guest<T>(&self, r: Result<T, GuestError>, export: &'static str) -> Result<T, RuntimeError> {
        r.map_err(|error| RuntimeError::Guest {
            strategy: self.name.clone(),
            export,
            error,
        })
    }

    /// Runs one export in a fresh instance under the limits, turning traps
    /// into typed errors that carry the guest's stderr.
    async fn invoke<R, F>(&self, call: &Call, export: &'static str, f: F) -> Result<R, RuntimeError>
    where
        R: Send,
        F: for<'a> FnOnce(
                &'a crate::bindings::BuildStrategy,
                &'a mut Store<HostState>,
            ) -> std::pin::Pin<
                Box<dyn std::future::Future<Output = wasmtime::Result<R>> + Send + 'a>,
            > + Send,
    {
        let span = tracing::info_span!("strategy", strategy = %self.name, digest = %self.digest, job = %call.job.name, export);
        let guard = Guard::new(
            call.job.clone(),
            &self.name,
            &self.digest,
            self.description.kinds.clone(),
        );
        let state = HostState::new(
            guard,
            call.context.clone(),
            call.cluster.clone(),
            call.transcript.clone(),
            self.limits.memory_bytes,
            &self.digest,
        );
        let mut store = Store::new(self.runtime.engine(), state);
        store.limiter(|s| &mut s.limiter);
        let ticks = (self.limits.deadline.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64;
        store.set_epoch_deadline(ticks);
        store.epoch_deadline_trap();
        let run = async {
            let instance = self.pre.instantiate_async(&mut store).await?;
            f(&instance, &mut store).await
        };
        // The epoch deadline stops guest code; this bounds a host call that hangs.
        let outcome = tokio::time::timeout(
            self.limits.deadline + Duration::from_secs(5),
            run.instrument(span.clone()),
        )
        .await;
        let stderr = store.data().stderr_text();
        let limit_ms = self.limits.deadline.as_millis() as u64;
        match outcome {
            Ok(Ok(value)) => Ok(value),
            Err(_) => Err(RuntimeError::Deadline {
                strategy: self.name.clone(),
                export,
                limit_ms,
                stderr,
            }),
            Ok(Err(e)) => {
                let trap = e.downcast_ref::<wasmtime::Trap>().copied();
                let err = if store.data().limiter.hit {
                    RuntimeError::OutOfMemory {
                        strategy: self.name.clone(),
                        export,
                        limit_bytes: self.limits.memory_bytes,
                        stderr,
                    }
                } else if trap == Some(wasmtime::Trap::Interrupt) {
                    RuntimeError::Deadline {
                        strategy: self.name.clone(),
                        export,
                        limit_ms,
                        stderr,
                    }
                } else if stderr.contains("panicked at") {
                    RuntimeError::Panic {
                        strategy: self.name.clone(),
                        export,
                        stderr,
                    }
                } else {
                    RuntimeError::Trap {
                        strategy: self.name.clone(),
                        export,
                        message: format!("{e:#}"),
                        stderr,
                    }
                };
                span.in_scope(|| tracing::warn!("strategy call failed: {err}"));
                Err(err)
            }
        }
    }
}
