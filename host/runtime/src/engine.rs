//! One wasmtime engine per operator: epoch interruption driven by a ticker
//! thread, and a compile cache keyed by strategy digest + engine hash.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine};

use crate::RuntimeError;
use crate::bindings::BuildStrategy;
use crate::host::HostState;

/// How often the epoch advances: the granularity of strategy deadlines.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// How a component came to be ready to instantiate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compiled {
    /// Deserialized from the on-disk cache (no compilation).
    FromCache,
    /// Compiled now (and written to the cache, when there is one).
    Fresh,
}

#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    linker: Linker<HostState>,
    cache_dir: Option<PathBuf>,
    compat: String,
}

impl Runtime {
    /// `cache_dir` holds compiled components; it must be private to the
    /// operator (an emptyDir), since its files are loaded as native code.
    pub fn new(cache_dir: Option<PathBuf>) -> Result<Self, RuntimeError> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        // Small reservations: strategies are tiny, and the memory limit is
        // enforced by the store limiter anyway.
        config.memory_reservation(64 << 20);
        config.max_wasm_stack(1 << 20);
        let engine = Engine::new(&config)
            .map_err(|e| RuntimeError::InvalidComponent(format!("engine: {e:#}")))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| RuntimeError::InvalidComponent(format!("linking WASI: {e:#}")))?;
        BuildStrategy::add_to_linker::<HostState, wasmtime::component::HasSelf<HostState>>(
            &mut linker,
            |s| s,
        )
        .map_err(|e| RuntimeError::InvalidComponent(format!("linking nbv:build: {e:#}")))?;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let compat = format!("{:016x}", hasher.finish());
        let weak = engine.weak();
        // The ticker stops once the engine is gone.
        std::thread::Builder::new()
            .name("nbv-epoch".into())
            .spawn(move || {
                while let Some(engine) = weak.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(EPOCH_TICK);
                }
            })
            .map_err(|e| RuntimeError::InvalidComponent(format!("epoch thread: {e}")))?;
        if let Some(dir) = &cache_dir {
            std::fs::create_dir_all(dir).map_err(|e| RuntimeError::Cache {
                path: dir.display().to_string(),
                message: e.to_string(),
            })?;
        }
        Ok(Runtime {
            inner: Arc::new(Inner {
                engine,
                linker,
                cache_dir,
                compat,
            }),
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    pub(crate) fn linker(&self) -> &Linker<HostState> {
        &self.inner.linker
    }

    /// Where the compiled form of `digest` lives for this engine.
    pub fn cache_path(&self, digest: &str) -> Option<PathBuf> {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        self.inner
            .cache_dir
            .as_ref()
            .map(|d| d.join(format!("{hex}-{}.cwasm", self.inner.compat)))
    }

    /// Compiles `bytes` (whose digest the caller verified), or loads the
    /// compiled form from the cache.
    pub fn compile(
        &self,
        digest: &str,
        bytes: &[u8],
    ) -> Result<(Component, Compiled), RuntimeError> {
        let path = self.cache_path(digest);
        if let Some(path) = &path
            && path.exists()
        {
            // SAFETY: the file was written by `store` below from a component
            // this engine compiled, into a directory only the operator writes;
            // the name binds it to the source digest and this engine's
            // compatibility hash, so a stale or foreign file is never picked.
            match unsafe { Component::deserialize_file(&self.inner.engine, path) } {
                Ok(c) => return Ok((c, Compiled::FromCache)),
                Err(e) => {
                    tracing::warn!(path = %path.display(), "ignoring unusable cache entry: {e:#}")
                }
            }
        }
        let component = Component::new(&self.inner.engine, bytes)
            .map_err(|e| RuntimeError::InvalidComponent(format!("{e:#}")))?;
        if let Some(path) = &path {
            store(path, &component);
        }
        Ok((component, Compiled::Fresh))
    }
}

/// Best effort: a cache that cannot be written only costs a recompile.
fn store(path: &Path, component: &Component) {
    let result = component
        .serialize()
        .map_err(|e| e.to_string())
        .and_then(|bytes| {
            let tmp = path.with_extension(format!("tmp{}", std::process::id()));
            std::fs::write(&tmp, bytes)
                .and_then(|_| std::fs::rename(&tmp, path))
                .map_err(|e| e.to_string())
        });
    if let Err(e) = result {
        tracing::warn!(path = %path.display(), "could not cache compiled strategy: {e}");
    }
}
