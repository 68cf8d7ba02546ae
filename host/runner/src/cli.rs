//! `nbv run`: argument parsing, progress lines, and the files a run leaves
//! behind (executed notebook, reports, the framed result, the termination
//! summary). Exit codes: 0 pass, 1 validation failure, 2 bad input.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use nbformat::v4::Notebook;
use nbv_compare::{Comparator, CompareConfig};

use crate::duration::{human, parse_duration};
use crate::execute::{Cancel, Progress};
use crate::files::write_atomically;
use crate::params::{Param, parse_param};
use crate::report::{
    CellReport, FailureKind, KernelReport, RunReport, clip, first_line, status_mark,
};
use crate::run::{Inputs, RunOptions};
use crate::{demo, golden, junit, notebook, result, termination};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Json,
    Junit,
}

/// Execute a notebook on a Jupyter kernel and compare it with a golden notebook.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// The notebook to validate. Without one, the embedded demo runs.
    pub notebook: Option<PathBuf>,
    /// Golden notebook to compare the executed notebook with.
    #[arg(long, short = 'g', value_name = "GOLDEN.ipynb")]
    pub golden: Option<PathBuf>,
    /// A papermill-style parameter; VALUE is read as JSON when it parses
    /// (numbers, true/false, null, lists, "quoted strings"), else as a string. Repeatable.
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE", value_parser = param_arg)]
    pub params: Vec<Param>,
    /// Limit for the whole run, kernel start included (e.g. 30m, 1h30m, 90s).
    #[arg(long, value_name = "DURATION", value_parser = duration_arg)]
    pub timeout: Option<Duration>,
    /// Limit for each cell; a cell past it is interrupted and the run fails.
    #[arg(long, value_name = "DURATION", value_parser = duration_arg)]
    pub cell_timeout: Option<Duration>,
    /// How long the kernel may take to start.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = duration_arg)]
    pub startup_timeout: Duration,
    /// After an interrupt, how long the kernel gets before it is killed.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = duration_arg)]
    pub interrupt_grace: Duration,
    /// Kernel name; default: the notebook's kernelspec, else python3.
    #[arg(long)]
    pub kernel: Option<String>,
    /// Where to write the executed notebook; default: <name>.nbv.ipynb next
    /// to the input (the demo writes none unless asked).
    #[arg(long, short = 'o', value_name = "EXECUTED.ipynb")]
    pub output: Option<PathBuf>,
    /// Print (or with --report-file, write) a machine-readable report.
    #[arg(long, value_enum)]
    pub report: Option<ReportFormat>,
    /// File for --report; the format defaults to junit for .xml, else json.
    #[arg(long, value_name = "PATH")]
    pub report_file: Option<PathBuf>,
    /// Comparison settings (YAML, or JSON for .json): strategy, absTolerance, relTolerance, …
    #[arg(long, value_name = "FILE", conflicts_with = "compare_config_json")]
    pub compare_config: Option<PathBuf>,
    /// Comparison settings as inline JSON (how the operator passes them).
    #[arg(long, value_name = "JSON")]
    pub compare_config_json: Option<String>,
    /// Write the full report, framed and checksummed (NBV-RESULT/1).
    #[arg(long, value_name = "PATH")]
    pub result: Option<PathBuf>,
    /// Write the bounded, signed summary (NBV-SUMMARY/1, ≤ 4096 bytes) the operator reads.
    #[arg(long, value_name = "PATH")]
    pub termination_log: Option<PathBuf>,
    /// The job's result-signing key; read and deleted before the kernel starts.
    #[arg(long, value_name = "PATH")]
    pub sign_key_file: Option<PathBuf>,
    /// Fail a cell that writes anything to stderr.
    #[arg(long)]
    pub fail_on_stderr: bool,
    /// Fail a cell that emits a Python warning.
    #[arg(long)]
    pub fail_on_warnings: bool,
    /// The kernel's working directory; default: the notebook's directory.
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<PathBuf>,
    /// No progress lines or summary table.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

fn param_arg(s: &str) -> Result<Param, String> {
    parse_param(s).map_err(|e| e.to_string())
}

fn duration_arg(s: &str) -> Result<Duration, String> {
    parse_duration(s).map_err(|e| e.to_string())
}

pub fn run(args: RunArgs) -> ExitCode {
    // One thread: a kernel client is I/O-bound, and the in-pod runner
    // should leave the CPU to the notebook.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("nbv run: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    ExitCode::from(runtime.block_on(run_async(args)))
}

async fn run_async(args: RunArgs) -> u8 {
    // The key goes first, before anything that runs notebook code exists.
    let key = match args.sign_key_file.as_deref().map(termination::take_key) {
        None => None,
        Some(Ok(key)) => Some(key),
        Some(Err(e)) => {
            let report =
                RunReport::failed_early(input_label(&args), FailureKind::Internal, e.to_string());
            return finish(&args, report, None).await;
        }
    };
    let (cancel_tx, mut cancel) = Cancel::new();
    let signals = tokio::spawn(async move {
        wait_for_stop_signal().await;
        let _ = cancel_tx.send(true);
    });
    let mut progress = Lines::new(args.quiet);
    let report = validate(&args, &mut cancel, &mut progress).await;
    signals.abort();
    finish(&args, report, key.as_deref()).await
}

async fn wait_for_stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

fn input_label(args: &RunArgs) -> String {
    args.notebook
        .as_ref()
        .map_or_else(|| demo::LABEL.to_string(), |p| p.display().to_string())
}

/// Everything before and after the run that reads or writes files.
async fn validate(args: &RunArgs, cancel: &mut Cancel, progress: &mut Lines) -> RunReport {
    let label = input_label(args);
    let prepared = match prepare(args) {
        Ok(p) => p,
        Err((kind, message)) => return RunReport::failed_early(label, kind, message),
    };
    let Prepared { inputs, output } = prepared;
    progress.total = inputs
        .notebook
        .cells
        .iter()
        .filter(|c| matches!(c, nbformat::v4::Cell::Code { .. }))
        .count()
        + usize::from(!args.params.is_empty());
    let opts = RunOptions {
        kernel: args.kernel.clone(),
        params: args.params.clone(),
        timeout: args.timeout,
        cell_timeout: args.cell_timeout,
        startup_timeout: args.startup_timeout,
        interrupt_grace: args.interrupt_grace,
        fail_on_stderr: args.fail_on_stderr,
        fail_on_warnings: args.fail_on_warnings,
        ..RunOptions::default()
    };
    progress.start(&label);
    let (mut report, executed) = crate::run::run(inputs, &opts, cancel, progress).await;
    if let Some((path, explicit)) = output {
        write_executed(&mut report, &executed, &path, explicit);
    }
    report
}

struct Prepared {
    inputs: Inputs,
    /// Where the executed notebook goes, and whether the user asked for it.
    output: Option<(PathBuf, bool)>,
}

type Early = (FailureKind, String);

fn prepare(args: &RunArgs) -> Result<Prepared, Early> {
    let invalid = |e: notebook::NotebookError| (FailureKind::InvalidNotebook, e.to_string());
    let (label, nb, embedded_golden) = match &args.notebook {
        Some(path) => (
            path.display().to_string(),
            notebook::load(path).map_err(invalid)?,
            None,
        ),
        None => (
            demo::LABEL.to_string(),
            notebook::parse(demo::NOTEBOOK, Path::new(demo::LABEL)).map_err(invalid)?,
            Some((
                demo::GOLDEN_LABEL.to_string(),
                notebook::parse(demo::GOLDEN, Path::new(demo::GOLDEN_LABEL)).map_err(invalid)?,
            )),
        ),
    };
    let golden = match &args.golden {
        Some(path) => Some((
            path.display().to_string(),
            notebook::load(path).map_err(invalid)?,
        )),
        None => embedded_golden,
    };
    let bad_input = |e: golden::ConfigFileError| (FailureKind::InvalidInput, e.to_string());
    let comparator: Comparator = match (&args.compare_config, &args.compare_config_json) {
        (Some(path), _) => golden::load_config_file(path).map_err(bad_input)?,
        (None, Some(json)) => golden::parse_config_json(json).map_err(bad_input)?,
        (None, None) => CompareConfig::default()
            .compile()
            .map_err(|e| (FailureKind::Internal, e.to_string()))?,
    };
    let output = match (&args.output, &args.notebook) {
        (Some(out), _) => Some((out.clone(), true)),
        (None, Some(input)) => Some((notebook::default_output_path(input), false)),
        (None, None) => None,
    };
    if let (Some((out, _)), Some(input)) = (&output, &args.notebook)
        && same_file(out, input)
    {
        return Err((
            FailureKind::InvalidInput,
            format!(
                "--output {} is the input notebook; nbv never overwrites its input",
                out.display()
            ),
        ));
    }
    let workdir = args.cwd.clone().or_else(|| {
        args.notebook
            .as_ref()
            .and_then(|p| p.parent())
            .filter(|d| !d.as_os_str().is_empty())
            .map(Path::to_path_buf)
    });
    Ok(Prepared {
        inputs: Inputs {
            label,
            notebook: nb,
            workdir,
            golden,
            comparator,
        },
        output,
    })
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

fn write_executed(report: &mut RunReport, nb: &Notebook, path: &Path, explicit: bool) {
    match notebook::save(nb, path) {
        Ok(()) => report.executed_notebook = Some(path.display().to_string()),
        // Asked for and not written is a failure; the default place being
        // read-only (a mounted repo) is only worth a warning.
        Err(e) if explicit => report.fail(FailureKind::Internal, e.to_string()),
        Err(e) => eprintln!("nbv run: warning: {e}"),
    }
}

/// Prints, writes the requested files, and picks the exit code. A file the
/// operator depends on that cannot be written turns a pass into a failure.
async fn finish(args: &RunArgs, mut report: RunReport, key: Option<&[u8]>) -> u8 {
    let mut problems = Vec::new();
    if let Some(path) = &args.result {
        let bytes = match key {
            Some(key) => result::encode_result_signed(&report, key),
            None => result::encode_result(&report),
        };
        if let Err(e) = write_atomically(path, &bytes) {
            problems.push(format!(
                "cannot write the result to {}: {e}",
                path.display()
            ));
        }
    }
    if let Some(path) = &args.termination_log {
        if key.is_none() {
            eprintln!(
                "nbv run: warning: no --sign-key-file; the termination summary is signed with an empty key"
            );
        }
        if let Err(e) = termination::write_termination_log(path, &report, key.unwrap_or_default()) {
            problems.push(e.to_string());
        }
    }
    let format = args.report.or_else(|| {
        args.report_file.as_ref().map(|p| {
            if p.extension().is_some_and(|e| e.eq_ignore_ascii_case("xml")) {
                ReportFormat::Junit
            } else {
                ReportFormat::Json
            }
        })
    });
    if let Some(format) = format {
        let text = match format {
            ReportFormat::Json => serde_json::to_string_pretty(&report).unwrap_or_default() + "\n",
            ReportFormat::Junit => junit::render(&report),
        };
        match &args.report_file {
            Some(path) => {
                if let Err(e) = write_atomically(path, text.as_bytes()) {
                    problems.push(format!(
                        "cannot write the report to {}: {e}",
                        path.display()
                    ));
                }
            }
            None => {
                let mut out = std::io::stdout().lock();
                if out
                    .write_all(text.as_bytes())
                    .and_then(|_| out.flush())
                    .is_err()
                {
                    problems.push("cannot write the report to stdout".into());
                }
            }
        }
    }
    for p in &problems {
        report.fail(FailureKind::Internal, p.clone());
    }
    if !args.quiet {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "{}", report.summary_table());
        if let Some(path) = &report.executed_notebook {
            let _ = writeln!(err, "executed notebook: {path}");
        }
    }
    for p in &problems {
        eprintln!("nbv run: {p}");
    }
    report.exit_code()
}

/// The per-cell progress lines on stderr.
struct Lines {
    quiet: bool,
    total: usize,
    done: usize,
    code: String,
    color: bool,
}

impl Lines {
    fn new(quiet: bool) -> Lines {
        Lines {
            quiet,
            total: 0,
            done: 0,
            code: String::new(),
            color: std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }

    fn start(&self, label: &str) {
        if !self.quiet {
            eprintln!("nbv run {label}");
        }
    }

    fn paint(&self, text: &str, code: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

impl Progress for Lines {
    fn kernel_ready(&mut self, kernel: &KernelReport) {
        if !self.quiet {
            eprintln!(
                "  kernel {} ({}) from {}",
                kernel.name, kernel.implementation, kernel.source
            );
        }
    }

    fn cell_started(&mut self, _index: usize, code: &str) {
        self.code = first_line(code);
    }

    fn cell_finished(&mut self, cell: &CellReport) {
        self.done += 1;
        if self.quiet {
            return;
        }
        let mark = status_mark(cell.status);
        let mark = match cell.status {
            crate::CellStatus::Success => self.paint(mark, "32"),
            crate::CellStatus::Failure => self.paint(mark, "31"),
            crate::CellStatus::Skipped => self.paint(mark, "2"),
        };
        let time = match cell.status {
            crate::CellStatus::Skipped => String::new(),
            _ => human(Duration::from_millis(cell.duration_ms)),
        };
        let detail = if cell.message.is_empty() {
            std::mem::take(&mut self.code)
        } else {
            cell.message.clone()
        };
        eprintln!(
            "  {mark} [{}/{}] {:<24} {time:>8}  {}",
            self.done,
            self.total.max(self.done),
            clip(&cell.label(), 24),
            clip(&detail, 60)
        );
    }
}
