//! The strategy runtime: loads build-strategy components (`wit/`) and runs each
//! export in a fresh, sandboxed instance.
//!
//! - [`engine`]: the wasmtime engine, epoch ticker and per-digest compile cache.
//! - [`component`]: a loaded strategy, pinned by digest, with its import allowlist.
//! - [`guard`]: the sandbox rules every Kubernetes call passes through.
//! - [`cluster`]: what the guard forwards to — a real cluster or recorded fixtures.
//! - [`host`]: the host side of the WIT imports and the per-call store.
//! - [`sources`]: built-in, ConfigMap and OCI sources, and the registry by name.

pub mod bindings;
pub mod cluster;
pub mod component;
pub mod engine;
pub mod error;
pub mod guard;
pub mod host;
pub mod sources;

pub use bindings::nbv::build::types::{
    ApiKind, BuildContext, BuildPhase, BuildState, Description, Error as GuestError, Parameter,
    RequirementsTier,
};
pub use cluster::{Cluster, FixtureCluster, KubeCluster};
pub use component::{Call, Limits, Strategy};
pub use engine::Runtime;
pub use error::RuntimeError;
pub use guard::{Guard, JobRef};
pub use host::{HostCall, Transcript};
pub use sources::{Registry, Source};

/// Hex sha256 of a component's bytes, as `sha256:<hex>`: its identity everywhere.
pub fn digest(bytes: &[u8]) -> String {
    format!(
        "sha256:{}",
        hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes))
    )
}
