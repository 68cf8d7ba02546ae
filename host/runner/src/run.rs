//! One validation, start to verdict: inject parameters, find and start the
//! kernel, execute, stop the kernel, compare with the golden notebook.
//! Everything that goes wrong ends up in the [`RunReport`]; nothing here
//! prints or exits, so the CLI, the in-pod runner and tests share it.

use std::path::PathBuf;
use std::time::Duration;

use nbformat::v4::Notebook;
use nbv_compare::Comparator;
use tokio::time::Instant;

use crate::execute::{Cancel, ExecOptions, Progress, execute};
use crate::kernel::{self, Kernel, KernelError};
use crate::params::{self, Param};
use crate::report::{FailureKind, RunReport};

pub struct Inputs {
    /// How reports name the notebook (its path, or "embedded demo").
    pub label: String,
    pub notebook: Notebook,
    /// The kernel's working directory: the notebook's own, normally.
    pub workdir: Option<PathBuf>,
    /// The golden notebook and how reports name it.
    pub golden: Option<(String, Notebook)>,
    pub comparator: Comparator,
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub kernel: Option<String>,
    pub params: Vec<Param>,
    pub timeout: Option<Duration>,
    pub cell_timeout: Option<Duration>,
    pub startup_timeout: Duration,
    pub interrupt_grace: Duration,
    /// How long a kernel gets to exit after shutdown_request before it is killed.
    pub shutdown_grace: Duration,
    pub fail_on_stderr: bool,
    pub fail_on_warnings: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            kernel: None,
            params: Vec::new(),
            timeout: None,
            cell_timeout: None,
            startup_timeout: Duration::from_secs(60),
            interrupt_grace: Duration::from_secs(5),
            shutdown_grace: Duration::from_secs(3),
            fail_on_stderr: false,
            fail_on_warnings: false,
        }
    }
}

/// Runs the notebook and returns the report and the executed notebook.
#[tracing::instrument(name = "run", skip_all, fields(notebook = %inputs.label))]
pub async fn run(
    inputs: Inputs,
    opts: &RunOptions,
    cancel: &mut Cancel,
    progress: &mut dyn Progress,
) -> (RunReport, Notebook) {
    let started = Instant::now();
    let deadline = opts.timeout.map(|t| started + t);
    let Inputs {
        label,
        mut notebook,
        workdir,
        golden,
        comparator,
    } = inputs;
    let mut report = RunReport::new(&label);
    report.parameters = opts
        .params
        .iter()
        .map(|p| (p.name.clone(), p.value.clone()))
        .collect();
    if params::inject(&mut notebook, &opts.params) == Some(params::Placement::Top) {
        tracing::warn!("no cell is tagged \"parameters\"; the injected parameters go first");
    }

    let name = opts
        .kernel
        .clone()
        .or_else(|| {
            notebook
                .metadata
                .kernelspec
                .as_ref()
                .map(|k| k.name.clone())
        })
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "python3".into());
    let language = crate::notebook::language(&notebook).map(str::to_string);
    let kernel = match start_kernel(
        &name,
        opts,
        language.as_deref(),
        workdir.as_deref(),
        deadline,
    )
    .await
    {
        Ok(k) => k,
        Err(failure) => {
            report.fail(failure.0, failure.1);
            report.duration_ms = elapsed_ms(started);
            return (report, notebook);
        }
    };
    let mut kernel = kernel;
    report.kernel = Some(kernel.report.clone());
    progress.kernel_ready(&kernel.report);

    let exec_opts = ExecOptions {
        cell_timeout: opts.cell_timeout,
        deadline,
        timeout: opts.timeout,
        interrupt_grace: opts.interrupt_grace,
        fail_on_stderr: opts.fail_on_stderr,
        fail_on_warnings: opts.fail_on_warnings,
    };
    let execution = execute(&mut notebook, &mut kernel, &exec_opts, cancel, progress).await;
    if execution.kill_kernel {
        kernel.kill().await;
    } else {
        kernel.shutdown(opts.shutdown_grace).await;
    }
    report.cells = execution.cells;
    if let Some((kind, message)) = execution.failure {
        report.fail(kind, message);
    }

    // A failed execution leaves later cells without outputs; a comparison
    // would only repeat that failure as a wall of diffs.
    if let (Some((golden_label, golden_nb)), None) = (&golden, report.failure) {
        let cmp = crate::golden::compare(&comparator, &notebook, golden_nb, golden_label);
        if !cmp.result.passed() {
            let first = cmp.result.diffs.first().map(|d| {
                format!(
                    "; first difference in cell {} ({})",
                    d.cell_index + 1,
                    d.diff_type.replace('_', " ")
                )
            });
            report.fail(
                FailureKind::GoldenMismatch,
                format!(
                    "{} of {} compared cells differ from the golden notebook {golden_label}{}",
                    cmp.result.mismatched,
                    cmp.result.total,
                    first.unwrap_or_default()
                ),
            );
        }
        report.comparison = Some(cmp);
    }
    report.passed = report.failure.is_none();
    if report.passed {
        report.message = format!(
            "{} code cells passed{}",
            report.count(crate::CellStatus::Success),
            if report.comparison.is_some() {
                " and match the golden notebook"
            } else {
                ""
            }
        );
    }
    report.duration_ms = elapsed_ms(started);
    (report, notebook)
}

async fn start_kernel(
    name: &str,
    opts: &RunOptions,
    language: Option<&str>,
    workdir: Option<&std::path::Path>,
    deadline: Option<Instant>,
) -> Result<Kernel, (FailureKind, String)> {
    let choice = kernel::resolve(name, opts.kernel.is_some(), language)
        .await
        .map_err(|e| (FailureKind::KernelMissing, e.to_string()))?;
    let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
    let startup = left.map_or(opts.startup_timeout, |l| l.min(opts.startup_timeout));
    let run_bound = left.is_some_and(|l| l < opts.startup_timeout);
    Kernel::start(choice, startup, workdir).await.map_err(|e| {
        let kind = match &e {
            e if e.is_missing_kernel() => FailureKind::KernelMissing,
            KernelError::StartTimeout { .. } if run_bound => FailureKind::Timeout,
            KernelError::Protocol(_) | KernelError::Io(_) => FailureKind::Internal,
            _ => FailureKind::KernelStartFailed,
        };
        (kind, e.to_string())
    })
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}
