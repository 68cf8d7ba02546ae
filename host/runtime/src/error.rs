//! The runtime's error boundary: everything a strategy can do wrong, typed, so
//! the operator can report it on the job and keep serving.

use crate::GuestError;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("strategy component is not valid: {0}")]
    InvalidComponent(String),
    #[error(
        "strategy imports {import:?}, which the sandbox does not provide (allowed: nbv:build/*, wasi:cli, wasi:io, wasi:clocks, wasi:random, wasi:filesystem without preopens)"
    )]
    ForbiddenImport { import: String },
    #[error("strategy does not export {0}; build it for the nbv:build@0.1.0 build-strategy world")]
    MissingExport(String),
    #[error("strategy bytes have digest {actual}, but {expected} was pinned")]
    DigestMismatch { expected: String, actual: String },
    #[error("strategy {strategy} exceeded its {limit_ms} ms deadline in {export}{}", stderr_suffix(.stderr))]
    Deadline {
        strategy: String,
        export: &'static str,
        limit_ms: u64,
        stderr: String,
    },
    #[error("strategy {strategy} exceeded its memory limit of {limit_bytes} bytes in {export}{}", stderr_suffix(.stderr))]
    OutOfMemory {
        strategy: String,
        export: &'static str,
        limit_bytes: usize,
        stderr: String,
    },
    #[error("strategy {strategy} panicked in {export}{}", stderr_suffix(.stderr))]
    Panic {
        strategy: String,
        export: &'static str,
        stderr: String,
    },
    #[error("strategy {strategy} trapped in {export}: {message}{}", stderr_suffix(.stderr))]
    Trap {
        strategy: String,
        export: &'static str,
        message: String,
        stderr: String,
    },
    /// The guest returned an error value (including sandbox denials it passed on).
    #[error("strategy {strategy} failed in {export}: {}", describe_guest(.error))]
    Guest {
        strategy: String,
        export: &'static str,
        error: GuestError,
    },
    #[error("strategy parameter error: {0}")]
    Parameters(String),
    #[error("loading strategy {name} from {source_desc}: {message}")]
    Load {
        name: String,
        source_desc: String,
        message: String,
    },
    #[error("no build strategy named {name:?} is registered; available: {available}")]
    Unknown { name: String, available: String },
    #[error("strategy cache {path}: {message}")]
    Cache { path: String, message: String },
}

impl RuntimeError {
    /// The reason a job's condition carries for this error.
    pub fn reason(&self) -> &'static str {
        match self {
            RuntimeError::Guest {
                error: GuestError::Denied(_),
                ..
            } => "StrategyDenied",
            RuntimeError::Guest { .. } => "StrategyError",
            RuntimeError::Deadline { .. } => "StrategyTimeout",
            RuntimeError::OutOfMemory { .. } => "StrategyOutOfMemory",
            RuntimeError::Panic { .. } | RuntimeError::Trap { .. } => "StrategyTrapped",
            RuntimeError::Parameters(_) => "InvalidStrategyConfig",
            RuntimeError::Unknown { .. } => "UnknownStrategy",
            _ => "StrategyLoadFailed",
        }
    }

    /// A trap: the strategy misbehaved (as opposed to returning an error).
    pub fn is_trap(&self) -> bool {
        matches!(
            self,
            RuntimeError::Deadline { .. }
                | RuntimeError::OutOfMemory { .. }
                | RuntimeError::Panic { .. }
                | RuntimeError::Trap { .. }
        )
    }

    /// Worth retrying later (the cluster was unreachable), rather than failing the job.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            RuntimeError::Guest {
                error: GuestError::Unavailable(_),
                ..
            }
        )
    }
}

fn stderr_suffix(stderr: &str) -> String {
    let stderr = stderr.trim();
    if stderr.is_empty() {
        String::new()
    } else {
        format!("; stderr: {stderr}")
    }
}

pub(crate) fn describe_guest(e: &GuestError) -> String {
    match e {
        GuestError::Denied(m) => format!("denied by the sandbox: {m}"),
        GuestError::NotFound(m) => format!("not found: {m}"),
        GuestError::Conflict(m) => format!("conflict: {m}"),
        GuestError::Invalid(m) => format!("invalid: {m}"),
        GuestError::Unavailable(m) => format!("unavailable: {m}"),
        GuestError::Other(m) => m.clone(),
    }
}
