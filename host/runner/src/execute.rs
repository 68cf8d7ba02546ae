//! Runs a notebook's code cells in order on one kernel, as papermill does:
//! the first unexpected error stops the run. nbval markers decide which
//! cells run (NBVAL_SKIP) and which errors are expected
//! (NBVAL_RAISES_EXCEPTION). Outputs are written into the notebook as they
//! arrive, so display updates can reach back into earlier cells.

use std::collections::HashMap;
use std::time::Duration;

use jupyter_protocol::{
    ExecuteRequest, ExecutionState, JupyterMessage, JupyterMessageContent, ReplyStatus,
};
use nbformat::v4::{Cell, ExecutionMetadata, MultilineString, Notebook, Output};
use nbv_compare::markers::cell_markers;
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until};
use tracing::{Instrument, debug, info_span, warn};

use crate::kernel::{Kernel, KernelEvent};
use crate::notebook::source;
use crate::report::{CellError, CellReport, CellStatus, FailureKind, clip, strip_ansi};

/// How long to keep listening on iopub after the execute_reply, for output
/// still in flight; nbclient waits the same order of time.
const IOPUB_DRAIN: Duration = Duration::from_secs(4);
const OUTPUT_EXCERPT: usize = 500;

#[derive(Debug, Clone)]
pub struct ExecOptions {
    pub cell_timeout: Option<Duration>,
    /// The whole run's deadline (`--timeout`), shared with kernel start-up.
    pub deadline: Option<Instant>,
    /// `--timeout` itself, for messages.
    pub timeout: Option<Duration>,
    /// After an interrupt, how long the kernel gets to answer before it is killed.
    pub interrupt_grace: Duration,
    pub fail_on_stderr: bool,
    pub fail_on_warnings: bool,
}

/// Set when the user or the platform asks the run to stop (Ctrl-C, SIGTERM).
#[derive(Clone)]
pub struct Cancel(watch::Receiver<bool>);

impl Cancel {
    pub fn new() -> (watch::Sender<bool>, Cancel) {
        let (tx, rx) = watch::channel(false);
        (tx, Cancel(rx))
    }

    /// A token that never fires, for callers without signal handling.
    pub fn never() -> Cancel {
        let (tx, rx) = watch::channel(false);
        // Keep the sender alive forever so `wait_for` never sees it closed.
        std::mem::forget(tx);
        Cancel(rx)
    }

    pub fn is_cancelled(&self) -> bool {
        *self.0.borrow()
    }

    pub async fn cancelled(&mut self) {
        if self.0.wait_for(|c| *c).await.is_err() {
            // The sender is gone, so no one can cancel any more.
            std::future::pending::<()>().await;
        }
    }
}

/// Told about each cell as it starts and ends, for the progress lines.
pub trait Progress {
    fn kernel_ready(&mut self, _kernel: &crate::report::KernelReport) {}
    fn cell_started(&mut self, _index: usize, _code: &str) {}
    fn cell_finished(&mut self, _cell: &CellReport) {}
}

/// Progress that shows nothing.
pub struct Quiet;
impl Progress for Quiet {}

pub struct Execution {
    pub cells: Vec<CellReport>,
    /// The first failure: its kind and a one-line message naming the cell.
    pub failure: Option<(FailureKind, String)>,
    /// The kernel cannot be trusted to shut down politely (timed out, died).
    pub kill_kernel: bool,
}

/// How one cell's execution ended.
enum Ended {
    Completed,
    /// The deadline passed; `replied` says whether the interrupt got through.
    TimedOut {
        replied: bool,
    },
    Died(String),
    Cancelled,
    /// The execute request could not even be sent.
    SendFailed(String),
}

#[derive(Default)]
struct CellRun {
    execution_count: Option<i32>,
    error: Option<CellError>,
    aborted: bool,
    stderr: String,
    timing: Timing,
}

#[derive(Default)]
struct Timing {
    busy: Option<String>,
    input: Option<String>,
    reply_started: Option<String>,
    reply: Option<String>,
    idle: Option<String>,
}

/// Where each display_id was shown, so update_display_data can find it.
type Displays = HashMap<String, Vec<(usize, usize)>>;

pub async fn execute(
    nb: &mut Notebook,
    kernel: &mut Kernel,
    opts: &ExecOptions,
    cancel: &mut Cancel,
    progress: &mut dyn Progress,
) -> Execution {
    let mut cells = Vec::new();
    let mut failure: Option<(FailureKind, String)> = None;
    let mut stopped: Option<String> = None;
    let mut kill_kernel = false;
    let mut displays = Displays::new();

    for index in 0..nb.cells.len() {
        let Cell::Code { id, .. } = &nb.cells[index] else {
            continue;
        };
        let id = id.as_str().to_string();
        let code = source(&nb.cells[index]);
        let markers = cell_markers(&nb.cells[index]);

        if let Some(reason) = &stopped {
            let mut report = CellReport::new(index, &id, CellStatus::Skipped);
            report.message = format!("not run: {reason}");
            clear_cell(nb, index);
            progress.cell_finished(&report);
            cells.push(report);
            continue;
        }
        if markers.skip {
            let mut report = CellReport::new(index, &id, CellStatus::Skipped);
            report.message = "NBVAL_SKIP".into();
            clear_cell(nb, index);
            progress.cell_finished(&report);
            cells.push(report);
            continue;
        }
        // nbclient does not send empty cells to the kernel either.
        if code.trim().is_empty() {
            clear_cell(nb, index);
            let report = CellReport::new(index, &id, CellStatus::Success);
            progress.cell_finished(&report);
            cells.push(report);
            continue;
        }

        progress.cell_started(index, &code);
        let started = Instant::now();
        let cell_deadline = opts.cell_timeout.map(|t| started + t);
        let (deadline, run_bound) = match (cell_deadline, opts.deadline) {
            (Some(c), Some(r)) if r < c => (Some(r), true),
            (Some(c), _) => (Some(c), false),
            (None, r) => (r, r.is_some()),
        };
        clear_cell(nb, index);
        let mut run = CellRun::default();
        let ended = run_cell(
            nb,
            index,
            &code,
            kernel,
            deadline,
            opts,
            cancel,
            &mut displays,
            &mut run,
        )
        .instrument(info_span!("cell", index, id = %id))
        .await;
        let elapsed = started.elapsed();

        let mut report = CellReport::new(index, &id, CellStatus::Success);
        report.duration_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        report.execution_count = run.execution_count.map(i64::from);
        report.output = excerpt(&nb.cells[index]);
        report.error = run.error.clone();
        if let Cell::Code {
            execution_count,
            metadata,
            ..
        } = &mut nb.cells[index]
        {
            *execution_count = run.execution_count;
            metadata.execution = Some(run.timing.into_metadata());
        }
        let label = report.label();
        let mut fail =
            |report: &mut CellReport, kind: FailureKind, cell_msg: String, run_msg: String| {
                report.status = CellStatus::Failure;
                report.message = cell_msg;
                if failure.is_none() {
                    failure = Some((kind, run_msg));
                }
            };

        match ended {
            Ended::TimedOut { replied } => {
                let limit = if run_bound {
                    format!(
                        "the run's --timeout {}",
                        crate::duration::human(opts.timeout.unwrap_or_default())
                    )
                } else {
                    format!(
                        "--cell-timeout {}",
                        crate::duration::human(opts.cell_timeout.unwrap_or_default())
                    )
                };
                let what = if replied {
                    "interrupted"
                } else {
                    "interrupted, then killed"
                };
                report.timed_out = true;
                let kind = if run_bound {
                    FailureKind::Timeout
                } else {
                    FailureKind::CellTimeout
                };
                fail(
                    &mut report,
                    kind,
                    format!("timed out ({limit}); {what}"),
                    format!("{label} did not finish within {limit}; it was {what}"),
                );
                stopped = Some(format!("{label} timed out"));
                kill_kernel = true;
            }
            Ended::Died(how) => {
                fail(
                    &mut report,
                    FailureKind::KernelDied,
                    format!("the kernel died: {how}"),
                    format!("the kernel died while running {label}: {how}"),
                );
                stopped = Some(format!("the kernel died in {label}"));
                kill_kernel = true;
            }
            Ended::Cancelled => {
                fail(
                    &mut report,
                    FailureKind::Interrupted,
                    "stopped by a signal".into(),
                    format!("the run was stopped by a signal during {label}"),
                );
                stopped = Some("the run was stopped".into());
                kill_kernel = true;
            }
            Ended::SendFailed(e) => {
                fail(
                    &mut report,
                    FailureKind::Internal,
                    format!("could not send the cell to the kernel: {e}"),
                    format!("could not send {label} to the kernel: {e}"),
                );
                stopped = Some("the kernel connection failed".into());
                kill_kernel = true;
            }
            Ended::Completed => match (&run.error, markers.raises_exception) {
                (Some(e), true) => {
                    report.expected_error = true;
                    report.message =
                        format!("raised {} as expected (NBVAL_RAISES_EXCEPTION)", e.ename);
                }
                (Some(e), false) => {
                    let what = if e.evalue.is_empty() {
                        e.ename.clone()
                    } else {
                        format!("{}: {}", e.ename, e.evalue)
                    };
                    fail(
                        &mut report,
                        FailureKind::CellError,
                        what.clone(),
                        format!("{label} raised {what}"),
                    );
                    stopped = Some(format!("{label} raised {}", e.ename));
                }
                (None, _) if run.aborted => {
                    fail(
                        &mut report,
                        FailureKind::CellError,
                        "the kernel aborted the execution".into(),
                        format!("the kernel aborted {label}"),
                    );
                    stopped = Some(format!("the kernel aborted {label}"));
                }
                (None, true) => fail(
                    &mut report,
                    FailureKind::ExpectedExceptionMissing,
                    "marked NBVAL_RAISES_EXCEPTION but raised nothing".into(),
                    format!("{label} is marked NBVAL_RAISES_EXCEPTION but raised nothing"),
                ),
                (None, false) => {
                    if let Some(warning) = opts
                        .fail_on_warnings
                        .then(|| find_warning(&run.stderr))
                        .flatten()
                    {
                        fail(
                            &mut report,
                            FailureKind::Warnings,
                            format!("emitted a warning (--fail-on-warnings): {warning}"),
                            format!("{label} emitted a warning: {warning}"),
                        );
                    } else if opts.fail_on_stderr && !run.stderr.trim().is_empty() {
                        let line = crate::report::first_line(&run.stderr);
                        fail(
                            &mut report,
                            FailureKind::StderrOutput,
                            format!("wrote to stderr (--fail-on-stderr): {line}"),
                            format!("{label} wrote to stderr: {line}"),
                        );
                    }
                }
            },
        }
        progress.cell_finished(&report);
        cells.push(report);
    }
    Execution {
        cells,
        failure,
        kill_kernel,
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_cell(
    nb: &mut Notebook,
    index: usize,
    code: &str,
    kernel: &mut Kernel,
    mut deadline: Option<Instant>,
    opts: &ExecOptions,
    cancel: &mut Cancel,
    displays: &mut Displays,
    run: &mut CellRun,
) -> Ended {
    if cancel.is_cancelled() {
        return Ended::Cancelled;
    }
    let request = ExecuteRequest {
        code: code.to_string(),
        silent: false,
        store_history: true,
        user_expressions: None,
        // input() raises at once instead of waiting for a person forever.
        allow_stdin: false,
        // Each cell is its own request, and a failed expected-error cell
        // must not make the kernel abort the next one.
        stop_on_error: false,
    };
    let msg_id = match kernel.send_shell(request.into()).await {
        Ok(id) => id,
        Err(e) => return Ended::SendFailed(e.to_string()),
    };
    let mut replied = false;
    let mut idle = false;
    let mut interrupted = false;
    let mut clear_pending = false;
    let mut drain_until: Option<Instant> = None;

    loop {
        if replied && idle {
            return if interrupted {
                Ended::TimedOut { replied: true }
            } else {
                Ended::Completed
            };
        }
        let wake = [deadline, drain_until].into_iter().flatten().min();
        let timer = async {
            match wake {
                Some(at) => sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            event = kernel.next_event() => match event {
                Some(KernelEvent::Iopub(msg)) if is_reply_to(&msg, &msg_id) => {
                    handle_iopub(nb, index, *msg, displays, run, &mut clear_pending, &mut idle);
                }
                Some(KernelEvent::Shell(msg)) if is_reply_to(&msg, &msg_id) => {
                    if let JupyterMessageContent::ExecuteReply(reply) = &msg.content {
                        replied = true;
                        run.timing.reply = Some(msg.header.date.to_rfc3339());
                        run.timing.reply_started =
                            msg.metadata.get("started").and_then(|v| v.as_str()).map(str::to_string);
                        run.execution_count = run.execution_count.or(count(reply.execution_count.value()));
                        match reply.status {
                            ReplyStatus::Error if run.error.is_none() => {
                                run.error = reply.error.as_ref().map(|e| cell_error(&e.ename, &e.evalue, &e.traceback));
                                if run.error.is_none() {
                                    run.error = Some(cell_error("Error", "the kernel reported an error", &[]));
                                }
                            }
                            ReplyStatus::Aborted => run.aborted = true,
                            _ => {}
                        }
                        drain_until = Some(Instant::now() + IOPUB_DRAIN);
                    }
                }
                Some(KernelEvent::Iopub(_) | KernelEvent::Shell(_)) => {}
                Some(KernelEvent::Exited(how)) => return Ended::Died(kernel_death(kernel, &how)),
                Some(KernelEvent::HeartbeatLost) => {
                    return Ended::Died("it stopped answering heartbeats".into());
                }
                None => return Ended::Died("its connection closed".into()),
            },
            _ = timer => {
                let now = Instant::now();
                if drain_until.is_some_and(|d| d <= now) && replied {
                    warn!(index, "no idle status after the execute_reply; taking the reply as the end of the cell");
                    return if interrupted { Ended::TimedOut { replied: true } } else { Ended::Completed };
                }
                if deadline.is_some_and(|d| d <= now) {
                    if interrupted {
                        return Ended::TimedOut { replied: false };
                    }
                    debug!(index, "cell deadline reached; interrupting the kernel");
                    kernel.interrupt().await;
                    interrupted = true;
                    deadline = Some(now + opts.interrupt_grace);
                }
            }
            _ = cancel.cancelled() => {
                kernel.interrupt().await;
                return Ended::Cancelled;
            }
        }
    }
}

fn kernel_death(kernel: &Kernel, how: &str) -> String {
    let note = kernel.death_note();
    if note.starts_with(how) {
        note
    } else {
        how.to_string()
    }
}

fn is_reply_to(msg: &JupyterMessage, msg_id: &str) -> bool {
    msg.parent_header
        .as_ref()
        .is_some_and(|p| p.msg_id == msg_id)
}

fn count(n: usize) -> Option<i32> {
    i32::try_from(n).ok().filter(|n| *n > 0)
}

fn cell_error(ename: &str, evalue: &str, traceback: &[String]) -> CellError {
    CellError {
        ename: ename.to_string(),
        evalue: evalue.to_string(),
        traceback: traceback.iter().map(|l| strip_ansi(l)).collect(),
    }
}

fn outputs_mut(nb: &mut Notebook, index: usize) -> Option<&mut Vec<Output>> {
    match nb.cells.get_mut(index) {
        Some(Cell::Code { outputs, .. }) => Some(outputs),
        _ => None,
    }
}

fn clear_cell(nb: &mut Notebook, index: usize) {
    if let Some(Cell::Code {
        outputs,
        execution_count,
        ..
    }) = nb.cells.get_mut(index)
    {
        outputs.clear();
        *execution_count = None;
    }
}

fn handle_iopub(
    nb: &mut Notebook,
    index: usize,
    msg: JupyterMessage,
    displays: &mut Displays,
    run: &mut CellRun,
    clear_pending: &mut bool,
    idle: &mut bool,
) {
    let date = msg.header.date.to_rfc3339();
    let is_output = matches!(
        msg.content,
        JupyterMessageContent::StreamContent(_)
            | JupyterMessageContent::DisplayData(_)
            | JupyterMessageContent::ExecuteResult(_)
            | JupyterMessageContent::ErrorOutput(_)
    );
    if is_output && std::mem::take(clear_pending) {
        clear_outputs(nb, index, displays);
    }
    match msg.content {
        JupyterMessageContent::Status(status) => match status.execution_state {
            ExecutionState::Busy => run.timing.busy = Some(date),
            ExecutionState::Idle => {
                run.timing.idle = Some(date);
                *idle = true;
            }
            _ => {}
        },
        JupyterMessageContent::ExecuteInput(input) => {
            run.timing.input = Some(date);
            run.execution_count = count(input.execution_count.value());
        }
        JupyterMessageContent::StreamContent(stream) => {
            let name = match stream.name {
                jupyter_protocol::Stdio::Stdout => "stdout",
                jupyter_protocol::Stdio::Stderr => "stderr",
            };
            if name == "stderr" {
                run.stderr.push_str(&stream.text);
            }
            let Some(outputs) = outputs_mut(nb, index) else {
                return;
            };
            // Consecutive chunks of one stream become one output, as nbclient does.
            if let Some(Output::Stream { name: last, text }) = outputs.last_mut()
                && last == name
            {
                text.0.push_str(&stream.text);
                return;
            }
            outputs.push(Output::Stream {
                name: name.into(),
                text: MultilineString(stream.text),
            });
        }
        JupyterMessageContent::DisplayData(display) => {
            let display_id = display.transient.and_then(|t| t.display_id);
            push_output(
                nb,
                index,
                displays,
                display_id,
                Output::DisplayData(nbformat::v4::DisplayData {
                    data: display.data,
                    metadata: display.metadata,
                }),
            );
        }
        JupyterMessageContent::ExecuteResult(result) => {
            run.execution_count = run
                .execution_count
                .or(count(result.execution_count.value()));
            let display_id = result.transient.and_then(|t| t.display_id);
            push_output(
                nb,
                index,
                displays,
                display_id,
                Output::ExecuteResult(nbformat::v4::ExecuteResult {
                    execution_count: result.execution_count,
                    data: result.data,
                    metadata: result.metadata,
                }),
            );
        }
        JupyterMessageContent::ErrorOutput(error) => {
            if run.error.is_none() {
                run.error = Some(cell_error(&error.ename, &error.evalue, &error.traceback));
            }
            if let Some(outputs) = outputs_mut(nb, index) {
                outputs.push(Output::Error(nbformat::v4::ErrorOutput {
                    ename: error.ename,
                    evalue: error.evalue,
                    traceback: error.traceback,
                }));
            }
        }
        JupyterMessageContent::UpdateDisplayData(update) => {
            let Some(id) = update.transient.display_id else {
                return;
            };
            for &(cell, at) in displays.get(&id).into_iter().flatten() {
                let target = outputs_mut(nb, cell).and_then(|o| o.get_mut(at));
                match target {
                    Some(Output::DisplayData(d)) => {
                        d.data = update.data.clone();
                        d.metadata = update.metadata.clone();
                    }
                    Some(Output::ExecuteResult(r)) => {
                        r.data = update.data.clone();
                        r.metadata = update.metadata.clone();
                    }
                    _ => {}
                }
            }
        }
        JupyterMessageContent::ClearOutput(clear) => {
            if clear.wait {
                *clear_pending = true;
            } else {
                clear_outputs(nb, index, displays);
            }
        }
        _ => {}
    }
}

fn push_output(
    nb: &mut Notebook,
    index: usize,
    displays: &mut Displays,
    display_id: Option<String>,
    output: Output,
) {
    let Some(outputs) = outputs_mut(nb, index) else {
        return;
    };
    outputs.push(output);
    if let Some(id) = display_id {
        displays
            .entry(id)
            .or_default()
            .push((index, outputs.len() - 1));
    }
}

fn clear_outputs(nb: &mut Notebook, index: usize, displays: &mut Displays) {
    if let Some(outputs) = outputs_mut(nb, index) {
        outputs.clear();
    }
    // Positions in the cleared cell are gone; updates must not land on new outputs.
    for places in displays.values_mut() {
        places.retain(|(cell, _)| *cell != index);
    }
}

/// The cell's text output, cut short: what a person skimming a report needs.
fn excerpt(cell: &Cell) -> String {
    let Cell::Code { outputs, .. } = cell else {
        return String::new();
    };
    let mut text = String::new();
    for output in outputs {
        match output {
            Output::Stream { text: t, .. } => text.push_str(&t.0),
            Output::DisplayData(nbformat::v4::DisplayData { data, .. })
            | Output::ExecuteResult(nbformat::v4::ExecuteResult { data, .. }) => {
                for media in &data.content {
                    if let jupyter_protocol::MediaType::Plain(plain) = media {
                        text.push_str(plain);
                        text.push('\n');
                    }
                }
            }
            Output::Error(e) => text.push_str(&format!("{}: {}\n", e.ename, e.evalue)),
        }
        if text.len() > OUTPUT_EXCERPT * 4 {
            break;
        }
    }
    clip(text.trim_end(), OUTPUT_EXCERPT)
}

/// A Python warning as `warnings` prints it: `file:line: SomeWarning: text`.
fn find_warning(stderr: &str) -> Option<String> {
    stderr
        .lines()
        .find(|line| {
            line.split(": ").any(|part| {
                let word = part.trim();
                word.ends_with("Warning")
                    && word
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
            })
        })
        .map(|line| clip(line.trim(), 200))
}

impl Timing {
    fn into_metadata(self) -> ExecutionMetadata {
        ExecutionMetadata {
            iopub_execute_input: self.input,
            iopub_status_busy: self.busy,
            shell_execute_reply: self.reply,
            shell_execute_reply_started: self.reply_started,
            iopub_status_idle: self.idle,
            additional: HashMap::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_are_recognised_as_python_prints_them() {
        let stderr = "/tmp/x.py:3: DeprecationWarning: old api\n  warnings.warn('old api')\n";
        assert_eq!(
            find_warning(stderr).as_deref(),
            Some("/tmp/x.py:3: DeprecationWarning: old api")
        );
        assert_eq!(find_warning("some log line: nothing to see\n"), None);
        assert!(find_warning("<ipython-input-1>:1: UserWarning: careful").is_some());
    }
}
