//! Finding, starting, talking to and stopping a Jupyter kernel.
//!
//! The kernel runs in its own process group so an interrupt or a kill
//! reaches whatever it spawned, and so a Ctrl-C meant for `nbv` does not
//! hit it behind our back. Everything the kernel says (iopub, shell
//! replies, its exit, lost heartbeats) arrives as one stream of
//! [`KernelEvent`]s, so the executor waits on a single cancel-safe channel.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jupyter_protocol::{
    ConnectionInfo, InterruptRequest, JupyterKernelspec, JupyterMessage, JupyterMessageContent,
    KernelInfoRequest, ShutdownRequest, Transport,
};
use runtimelib::{ClientControlConnection, DealerSendConnection, RuntimeError};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep, sleep_until, timeout};
use tracing::{debug, warn};

use crate::report::KernelReport;

const INSTALL_HINT: &str = "install a Python kernel: run `make setup` in the nbv repository (it creates a venv with \
     ipykernel; `source scripts/env.sh` puts it on PATH), or `pip install ipykernel` into the Python on PATH";

#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    #[error("no Jupyter kernel named {name:?} (available: {available}; searched {searched}); {INSTALL_HINT}",
        available = if available.is_empty() { "none".to_string() } else { available.join(", ") },
        searched = searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    Missing {
        name: String,
        available: Vec<String>,
        searched: Vec<PathBuf>,
    },
    #[error("kernel {name:?} cannot be started: {program:?} was not found; {INSTALL_HINT}")]
    ProgramMissing { name: String, program: String },
    #[error(
        "kernel {name:?} is installed but its Python lacks ipykernel ({detail}); {INSTALL_HINT}"
    )]
    IpykernelMissing { name: String, detail: String },
    #[error("kernel {name:?} could not be started: {message}")]
    Spawn { name: String, message: String },
    #[error(
        "kernel {name:?} exited during start-up ({status}){}",
        tail_suffix(stderr)
    )]
    ExitedAtStart {
        name: String,
        status: String,
        stderr: String,
    },
    #[error(
        "kernel {name:?} did not become ready within {after:?}{}",
        tail_suffix(stderr)
    )]
    StartTimeout {
        name: String,
        after: Duration,
        stderr: String,
    },
    #[error("talking to the kernel failed: {0}")]
    Protocol(#[from] RuntimeError),
    #[error("kernel connection file: {0}")]
    Io(#[from] std::io::Error),
}

impl KernelError {
    /// Whether the fix is installing something rather than fixing the notebook.
    pub fn is_missing_kernel(&self) -> bool {
        matches!(
            self,
            KernelError::Missing { .. }
                | KernelError::ProgramMissing { .. }
                | KernelError::IpykernelMissing { .. }
        )
    }
}

fn tail_suffix(stderr: &str) -> String {
    if stderr.trim().is_empty() {
        String::new()
    } else {
        format!("; its last output:\n{}", stderr.trim_end())
    }
}

/// A kernelspec chosen for a run, and where it came from.
#[derive(Debug, Clone)]
pub struct KernelChoice {
    pub name: String,
    pub source: String,
    pub spec: JupyterKernelspec,
}

/// Where kernelspecs live, in Jupyter's order of preference: `JUPYTER_PATH`,
/// then the environment of each Python on `PATH` (what `sys.prefix` would
/// be, so an activated venv's kernel is found without asking Python), then
/// the user and system data directories runtimelib knows.
pub fn kernelspec_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(jp) = std::env::var_os("JUPYTER_PATH") {
        dirs.extend(std::env::split_paths(&jp).filter(|p| !p.as_os_str().is_empty()));
    }
    if let Some(path) = std::env::var_os("PATH") {
        for bin in std::env::split_paths(&path) {
            let has_python = ["python3", "python"].iter().any(|p| bin.join(p).is_file());
            if let (true, Some(prefix)) = (has_python, bin.parent()) {
                dirs.push(prefix.join("share").join("jupyter"));
            }
        }
    }
    dirs.extend(runtimelib::data_dirs());
    let mut seen = std::collections::HashSet::new();
    dirs.retain(|d| seen.insert(d.clone()));
    dirs
}

/// `name` is `--kernel`, else the notebook's kernelspec, else `python3`.
/// When the name is not installed but the notebook is Python, fall back to
/// `python3 -m ipykernel_launcher`, which is what every Jupyter image can run.
pub async fn resolve(
    name: &str,
    explicit: bool,
    language: Option<&str>,
) -> Result<KernelChoice, KernelError> {
    let dirs = kernelspec_dirs();
    let mut available = Vec::new();
    for dir in &dirs {
        for found in runtimelib::read_kernelspec_jsons(dir).await {
            if found.kernel_name == name {
                return Ok(KernelChoice {
                    name: name.to_string(),
                    source: found.path.display().to_string(),
                    spec: found.kernelspec,
                });
            }
            if !available.contains(&found.kernel_name) {
                available.push(found.kernel_name);
            }
        }
    }
    let pythonic =
        matches!(name, "python3" | "python") || (!explicit && language == Some("python"));
    if pythonic && ipykernel_importable().await {
        if name != "python3" {
            warn!(
                kernel = name,
                "kernel not installed; running the notebook on python3 -m ipykernel_launcher"
            );
        }
        return Ok(KernelChoice {
            name: name.to_string(),
            source: "fallback: python3 -m ipykernel_launcher".into(),
            spec: JupyterKernelspec {
                argv: [
                    "python3",
                    "-m",
                    "ipykernel_launcher",
                    "-f",
                    "{connection_file}",
                ]
                .map(String::from)
                .to_vec(),
                display_name: "Python 3 (ipykernel)".into(),
                language: "python".into(),
                metadata: None,
                interrupt_mode: None,
                env: None,
            },
        });
    }
    Err(KernelError::Missing {
        name: name.to_string(),
        available,
        searched: dirs,
    })
}

async fn ipykernel_importable() -> bool {
    let probe = tokio::process::Command::new("python3")
        .args(["-c", "import ipykernel"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .status();
    matches!(timeout(Duration::from_secs(30), probe).await, Ok(Ok(s)) if s.success())
}

#[derive(Debug)]
pub enum KernelEvent {
    Iopub(Box<JupyterMessage>),
    Shell(Box<JupyterMessage>),
    /// The kernel process is gone; the text describes how it ended.
    Exited(String),
    HeartbeatLost,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InterruptMode {
    Signal,
    Message,
}

/// The last lines the kernel wrote to stderr, for explaining a crash.
#[derive(Default)]
struct Tail {
    lines: VecDeque<String>,
}

impl Tail {
    const MAX_LINES: usize = 40;
    fn push(&mut self, line: String) {
        if self.lines.len() == Self::MAX_LINES {
            self.lines.pop_front();
        }
        self.lines.push_back(line);
    }
    fn text(&self) -> String {
        self.lines.iter().map(|l| format!("{l}\n")).collect()
    }
}

/// A private directory for the connection file (it holds the HMAC key) and
/// the kernel's sockets. Unix sockets rather than TCP ports: no other
/// process can take a port between our choosing it and the kernel binding
/// it, and no other local user can connect to the kernel.
struct ConnectionDir(PathBuf);

/// sun_path is 108 bytes; leave room for the "/k-N" suffix and the NUL.
const MAX_SOCKET_DIR: usize = 96;

impl ConnectionDir {
    fn create() -> std::io::Result<ConnectionDir> {
        use std::os::unix::fs::DirBuilderExt;
        let name = format!("nbv-{}", random_hex(8));
        let mut last_err = None;
        // JUPYTER_RUNTIME_DIR first: in the validation pod it is the only
        // writable place when the root filesystem is read-only.
        for base in [
            runtimelib::runtime_dir(),
            std::env::temp_dir(),
            PathBuf::from("/tmp"),
        ] {
            let dir = base.join(&name);
            if dir.as_os_str().len() > MAX_SOCKET_DIR {
                continue;
            }
            let made = std::fs::create_dir_all(&base)
                .and_then(|_| std::fs::DirBuilder::new().mode(0o700).create(&dir));
            match made {
                Ok(()) => return Ok(ConnectionDir(dir)),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or_else(|| {
            std::io::Error::other(
                "no writable runtime directory with a path short enough for sockets",
            )
        }))
    }
}

impl Drop for ConnectionDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn random_hex(bytes: usize) -> String {
    use ring::rand::SecureRandom;
    let mut buf = vec![0u8; bytes];
    // SystemRandom only fails without an OS entropy source; a fixed-looking
    // fallback still works because the key only guards localhost sockets
    // from other local users, and the connection file is private anyway.
    if ring::rand::SystemRandom::new().fill(&mut buf).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        buf.iter_mut()
            .enumerate()
            .for_each(|(i, b)| *b = (nanos >> ((i % 16) * 8)) as u8 ^ std::process::id() as u8);
    }
    hex::encode(buf)
}

pub struct Kernel {
    pub report: KernelReport,
    name: String,
    pid: i32,
    interrupt_mode: InterruptMode,
    shell: DealerSendConnection,
    control: ClientControlConnection,
    events: mpsc::Receiver<KernelEvent>,
    exited: watch::Receiver<Option<String>>,
    stderr: Arc<Mutex<Tail>>,
    tasks: Vec<JoinHandle<()>>,
    _dir: ConnectionDir,
}

const EVENT_BUFFER: usize = 4096;
const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(2);
const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(5);
/// Consecutive misses before the kernel counts as dead. Generous on
/// purpose: a false alarm kills a healthy run, and a crashed process is
/// already caught by its exit.
const HEARTBEAT_MISSES: u32 = 6;

impl Kernel {
    /// `cwd` is where the notebook's relative paths should resolve: its own
    /// directory, as Jupyter does.
    #[tracing::instrument(name = "kernel_start", skip_all, fields(kernel = %choice.name))]
    pub async fn start(
        choice: KernelChoice,
        startup_timeout: Duration,
        cwd: Option<&Path>,
    ) -> Result<Kernel, KernelError> {
        let deadline = Instant::now() + startup_timeout;
        let name = choice.name.clone();
        let dir = ConnectionDir::create()?;
        let info = ConnectionInfo {
            // For ipc the "ip" is a path prefix and each "port" a suffix.
            ip: dir.0.join("k").display().to_string(),
            transport: Transport::IPC,
            shell_port: 1,
            iopub_port: 2,
            stdin_port: 3,
            control_port: 4,
            hb_port: 5,
            key: random_hex(32),
            signature_scheme: "hmac-sha256".into(),
            kernel_name: Some(choice.name.clone()),
        };
        let conn_path = dir.0.join("kernel.json");
        write_private(
            &conn_path,
            &serde_json::to_vec(&info).map_err(RuntimeError::from)?,
        )?;

        let interrupt_mode = match choice.spec.interrupt_mode.as_deref() {
            Some("message") => InterruptMode::Message,
            _ => InterruptMode::Signal,
        };
        let program = choice.spec.argv.first().cloned().unwrap_or_default();
        let kernelspec = runtimelib::KernelspecDir {
            kernel_name: choice.name.clone(),
            path: PathBuf::new(),
            kernelspec: choice.spec.clone(),
        };
        let mut cmd = kernelspec.command(&conn_path, Some(Stdio::piped()), Some(Stdio::null()))?;
        cmd.process_group(0).kill_on_drop(true);
        if let Some(dir) = cwd {
            cmd.current_dir(dir);
        }
        let mut child = cmd.spawn().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => KernelError::ProgramMissing {
                name: name.clone(),
                program: program.clone(),
            },
            _ => KernelError::Spawn {
                name: name.clone(),
                message: format!("{program}: {e}"),
            },
        })?;
        let pid = child.id().and_then(|p| i32::try_from(p).ok()).unwrap_or(0);
        debug!(pid, argv = ?choice.spec.argv, "kernel spawned");

        let (tx, events) = mpsc::channel(EVENT_BUFFER);
        let stderr = Arc::new(Mutex::new(Tail::default()));
        let mut tasks = Vec::new();
        if let Some(pipe) = child.stderr.take() {
            let tail = Arc::clone(&stderr);
            tasks.push(tokio::spawn(async move {
                let mut lines = BufReader::new(pipe).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    debug!(target: "nbv_runner::kernel_stderr", "{line}");
                    if let Ok(mut t) = tail.lock() {
                        t.push(line);
                    }
                }
            }));
        }
        let (exit_tx, exited) = watch::channel(None);
        {
            let tx = tx.clone();
            tasks.push(tokio::spawn(async move {
                let how = match child.wait().await {
                    Ok(status) => describe_exit(status),
                    Err(e) => format!("could not be waited for: {e}"),
                };
                let _ = exit_tx.send(Some(how.clone()));
                let _ = tx.send(KernelEvent::Exited(how)).await;
            }));
        }

        let mut kernel_exited = exited.clone();
        let start_failed = |how: String, stderr: &Arc<Mutex<Tail>>| {
            let text = stderr.lock().map(|t| t.text()).unwrap_or_default();
            if text.contains("No module named ipykernel")
                || text.contains("No module named 'ipykernel")
            {
                KernelError::IpykernelMissing {
                    name: name.clone(),
                    detail: crate::report::first_line(
                        text.lines()
                            .rev()
                            .find(|l| l.contains("No module named"))
                            .unwrap_or_default(),
                    ),
                }
            } else {
                KernelError::ExitedAtStart {
                    name: name.clone(),
                    status: how,
                    stderr: text,
                }
            }
        };
        let timed_out = |stderr: &Arc<Mutex<Tail>>| KernelError::StartTimeout {
            name: name.clone(),
            after: startup_timeout,
            stderr: stderr.lock().map(|t| t.text()).unwrap_or_default(),
        };

        let connect = async {
            wait_for_sockets(&info).await;
            let session = random_hex(16);
            let identity = runtimelib::peer_identity_for_session(&session)?;
            let shell =
                runtimelib::create_client_shell_connection_with_identity(&info, &session, identity)
                    .await?;
            let iopub = runtimelib::create_client_iopub_connection(&info, "", &session).await?;
            let control = runtimelib::create_client_control_connection(&info, &session).await?;
            Ok::<_, RuntimeError>((shell, iopub, control))
        };
        let (shell, iopub, control) = tokio::select! {
            r = connect => r?,
            _ = wait_exit(&mut kernel_exited) => {
                let how = kernel_exited.borrow().clone().unwrap_or_default();
                return Err(start_failed(how, &stderr));
            }
            _ = sleep_until(deadline) => return Err(timed_out(&stderr)),
        };
        let (shell, shell_rx) = shell.split();
        tasks.push(spawn_reader("shell", shell_rx, tx.clone(), |m| {
            KernelEvent::Shell(Box::new(m))
        }));
        tasks.push(spawn_reader("iopub", iopub, tx.clone(), |m| {
            KernelEvent::Iopub(Box::new(m))
        }));
        tasks.push(spawn_heartbeat(info.clone(), tx));

        let mut kernel = Kernel {
            report: KernelReport {
                name: choice.name.clone(),
                source: choice.source.clone(),
                language: choice.spec.language.clone(),
                implementation: String::new(),
            },
            name: name.clone(),
            pid,
            interrupt_mode,
            shell,
            control,
            events,
            exited,
            stderr,
            tasks,
            _dir: dir,
        };
        match kernel.wait_ready(deadline).await {
            Ok(()) => Ok(kernel),
            Err(Ready::Exited(how)) => Err(start_failed(how, &kernel.stderr)),
            Err(Ready::TimedOut) => Err(timed_out(&kernel.stderr)),
            Err(Ready::Protocol(e)) => Err(KernelError::Protocol(e)),
        }
    }

    /// Ready means a kernel_info_reply on shell and a message on iopub: a
    /// SUB socket drops whatever is published before its subscription
    /// reaches the kernel, so without the second the first cell's output
    /// could silently go missing.
    async fn wait_ready(&mut self, deadline: Instant) -> Result<(), Ready> {
        let mut replied = false;
        let mut heard_iopub = false;
        let mut backoff = Duration::from_millis(50);
        loop {
            self.send_shell(KernelInfoRequest {}.into())
                .await
                .map_err(Ready::Protocol)?;
            let round = (Instant::now() + backoff).min(deadline);
            loop {
                tokio::select! {
                    ev = self.events.recv() => match ev {
                        Some(KernelEvent::Shell(m)) => {
                            if let JupyterMessageContent::KernelInfoReply(reply) = &m.content {
                                self.report.implementation =
                                    format!("{} {}", reply.implementation, reply.implementation_version);
                                if !reply.language_info.name.is_empty() {
                                    self.report.language = reply.language_info.name.clone();
                                }
                                replied = true;
                            }
                        }
                        Some(KernelEvent::Iopub(_)) => heard_iopub = true,
                        Some(KernelEvent::Exited(how)) => return Err(Ready::Exited(how)),
                        Some(KernelEvent::HeartbeatLost) => {}
                        None => return Err(Ready::Exited("its event stream closed".into())),
                    },
                    _ = sleep_until(round) => break,
                }
                if replied && heard_iopub {
                    return Ok(());
                }
            }
            if Instant::now() >= deadline {
                return Err(Ready::TimedOut);
            }
            backoff = (backoff * 2).min(Duration::from_millis(500));
        }
    }

    pub async fn send_shell(
        &mut self,
        content: JupyterMessageContent,
    ) -> Result<String, RuntimeError> {
        let msg = JupyterMessage::from(content);
        let id = msg.header.msg_id.clone();
        self.shell.send(msg).await?;
        Ok(id)
    }

    /// The next thing the kernel did. `None` only if every source is gone,
    /// which cannot happen while the exit watcher runs.
    pub async fn next_event(&mut self) -> Option<KernelEvent> {
        self.events.recv().await
    }

    pub fn is_alive(&self) -> bool {
        self.exited.borrow().is_none()
    }

    /// How the kernel ended and what it last wrote, for a death report.
    pub fn death_note(&self) -> String {
        let how = self
            .exited
            .borrow()
            .clone()
            .unwrap_or_else(|| "stopped answering".into());
        let tail = self.stderr.lock().map(|t| t.text()).unwrap_or_default();
        let last: Vec<&str> = tail.lines().filter(|l| !l.trim().is_empty()).collect();
        match last.last() {
            Some(line) => format!("{how}; last stderr line: {}", line.trim()),
            None => how,
        }
    }

    /// Interrupts the running cell the way the kernelspec asks: SIGINT to
    /// the kernel's process group by default, an interrupt_request on the
    /// control channel for kernels that declare `interrupt_mode: message`.
    pub async fn interrupt(&mut self) {
        match self.interrupt_mode {
            InterruptMode::Signal => self.signal(libc::SIGINT),
            InterruptMode::Message => {
                if let Err(e) = self.control.send(InterruptRequest {}.into()).await {
                    warn!(kernel = %self.name, "interrupt_request failed: {e}");
                }
            }
        }
    }

    fn signal(&self, sig: libc::c_int) {
        // Only while the process has not been reaped, so the pid cannot
        // belong to someone else by now.
        if self.pid > 0 && self.is_alive() {
            // SAFETY: kill(2) has no memory effects; a negative pid names
            // the process group the kernel leads (process_group(0)).
            let rc = unsafe { libc::kill(-self.pid, sig) };
            if rc != 0 {
                debug!(
                    pid = self.pid,
                    sig,
                    "kill failed: {}",
                    std::io::Error::last_os_error()
                );
            }
        }
    }

    /// Asks the kernel to exit, and kills it if it has not within `grace`.
    pub async fn shutdown(mut self, grace: Duration) {
        if self.is_alive() && !grace.is_zero() {
            let _ = self
                .control
                .send(ShutdownRequest { restart: false }.into())
                .await;
            let mut exited = self.exited.clone();
            if timeout(grace, wait_exit(&mut exited)).await.is_ok() {
                return;
            }
            debug!(kernel = %self.name, "kernel ignored shutdown_request; killing it");
        }
        self.kill().await;
    }

    pub async fn kill(&mut self) {
        self.signal(libc::SIGKILL);
        let mut exited = self.exited.clone();
        let _ = timeout(Duration::from_secs(5), wait_exit(&mut exited)).await;
    }
}

impl Drop for Kernel {
    fn drop(&mut self) {
        // Never leave a kernel behind, whatever path got us here.
        self.signal(libc::SIGKILL);
        for t in &self.tasks {
            t.abort();
        }
    }
}

enum Ready {
    Exited(String),
    TimedOut,
    Protocol(RuntimeError),
}

async fn wait_exit(exited: &mut watch::Receiver<Option<String>>) {
    let _ = exited.wait_for(|v| v.is_some()).await;
}

fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => "ended".into(),
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
}

/// zeromq's connect backs off exponentially while a socket is missing,
/// which would add up to a second to every start; watch for the socket
/// files instead (the kernel creates them when it binds), then connect at once.
async fn wait_for_sockets(info: &ConnectionInfo) {
    for port in [
        info.shell_port,
        info.iopub_port,
        info.control_port,
        info.hb_port,
    ] {
        let path = PathBuf::from(format!("{}-{port}", info.ip));
        // A stat every few milliseconds costs nothing next to Python's start-up.
        while !path.exists() {
            sleep(Duration::from_millis(5)).await;
        }
    }
}

fn spawn_reader<S>(
    channel: &'static str,
    mut conn: runtimelib::Connection<S>,
    tx: mpsc::Sender<KernelEvent>,
    wrap: fn(JupyterMessage) -> KernelEvent,
) -> JoinHandle<()>
where
    S: zeromq::SocketRecv + Send + 'static,
{
    tokio::spawn(async move {
        loop {
            match conn.read().await {
                Ok(msg) => {
                    if tx.send(wrap(msg)).await.is_err() {
                        return;
                    }
                }
                // A dead socket will not recover; the exit watcher reports why.
                Err(RuntimeError::ZmqError(e)) => {
                    debug!(channel, "socket closed: {e}");
                    return;
                }
                // One unparsable message must not end the run.
                Err(e) => warn!(channel, "ignoring a kernel message: {e}"),
            }
        }
    })
}

fn spawn_heartbeat(info: ConnectionInfo, tx: mpsc::Sender<KernelEvent>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut misses = 0;
        let mut hb = None;
        loop {
            sleep(HEARTBEAT_INTERVAL).await;
            if hb.is_none() {
                hb = timeout(
                    HEARTBEAT_TIMEOUT,
                    runtimelib::create_client_heartbeat_connection(&info),
                )
                .await
                .ok()
                .and_then(Result::ok);
            }
            let beat = match hb.as_mut() {
                Some(conn) => matches!(
                    timeout(HEARTBEAT_TIMEOUT, conn.single_heartbeat()).await,
                    Ok(Ok(()))
                ),
                None => false,
            };
            if beat {
                misses = 0;
                continue;
            }
            // A REQ socket that missed its reply is stuck; start afresh.
            hb = None;
            misses += 1;
            debug!(misses, "kernel heartbeat missed");
            if misses >= HEARTBEAT_MISSES {
                let _ = tx.send(KernelEvent::HeartbeatLost).await;
                return;
            }
        }
    })
}
