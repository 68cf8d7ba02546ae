//! `nbv strategy test`: the strategy author's harness. Loads a component the
//! way the operator does (same runtime, sandbox and limits), builds the
//! context a NotebookValidationJob would get, and runs the exports in the
//! operator's order against recorded fixtures or a real cluster, printing
//! every host call the strategy made and what each export returned.
//!
//! Exit codes: 0 when every export returned `Ok` (a `failed` build status is
//! still a well-behaved answer), 1 when an export (or loading) failed, 2 for
//! usage and input errors (unreadable files, a malformed job, bad parameters).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use nbv_crd::{BuildConfigSpec, NotebookValidationJob};
use nbv_runtime::engine::Compiled;
use nbv_runtime::{
    BuildContext, BuildPhase, Call, Cluster, FixtureCluster, JobRef, KubeCluster, Limits,
    RequirementsTier, Runtime, RuntimeError, Strategy,
};

/// The uid objects are owned by when there is no live job to take it from.
pub const PLACEHOLDER_UID: &str = "00000000-0000-0000-0000-000000000000";

#[derive(clap::Args, Debug)]
pub struct StrategyArgs {
    #[command(subcommand)]
    pub command: StrategyCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum StrategyCommand {
    /// Run a strategy component's exports for a job against a fixture or a cluster,
    /// printing every host call, build-log line and result.
    Test(TestArgs),
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Export {
    All,
    Detect,
    CreateBuild,
    BuildStatus,
    BuiltImage,
    Logs,
    DeleteBuild,
}

impl Export {
    const ORDER: [Export; 6] = [
        Export::Detect,
        Export::CreateBuild,
        Export::BuildStatus,
        Export::BuiltImage,
        Export::Logs,
        Export::DeleteBuild,
    ];

    fn wit_name(self) -> &'static str {
        match self {
            Export::All => "all",
            Export::Detect => "detect",
            Export::CreateBuild => "create-build",
            Export::BuildStatus => "build-status",
            Export::BuiltImage => "built-image",
            Export::Logs => "logs",
            Export::DeleteBuild => "delete-build",
        }
    }
}

#[derive(clap::Args, Debug)]
#[command(after_help = "\
With neither --cluster nor --fixture the strategy runs against an empty in-memory fixture.
Fixture directory: DIR/cluster.json = {\"apiGroups\": [...], \"objects\": [...], \"logs\": {\"pod/container\": \"text\"}};
objects the strategy finds must carry the labels app.kubernetes.io/managed-by=nbv,
nbv.mlops.dev/job=<job> and nbv.mlops.dev/strategy=<strategy>, as if it had created them.

Exit codes: 0 every export returned Ok, 1 an export (or loading the component) failed,
2 usage or input error.")]
pub struct TestArgs {
    /// The component: a path to a .wasm file, or builtin:NAME (s2i, tekton, kaniko).
    #[arg(value_name = "COMPONENT")]
    pub component: String,
    /// The NotebookValidationJob YAML to build for.
    #[arg(long, value_name = "FILE")]
    pub job: PathBuf,
    /// Run against the cluster of this kubeconfig (objects are really created).
    #[arg(long, value_name = "KUBECONFIG", conflicts_with = "fixture")]
    pub cluster: Option<PathBuf>,
    /// Run against recorded cluster state: DIR/cluster.json.
    #[arg(long, value_name = "DIR")]
    pub fixture: Option<PathBuf>,
    /// Which exports to run (comma-separated); they run in the operator's order.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "all")]
    pub export: Vec<Export>,
    /// The build's name: the context's build-name and the build the later exports query
    /// [default: <job>-<first 10 of the cache key>].
    #[arg(long, value_name = "NAME")]
    pub build: Option<String>,
    /// requirements.txt to build with (tier requirements-file) [default: none, tier base-image-only].
    #[arg(long, value_name = "FILE")]
    pub requirements: Option<PathBuf>,
    /// The full commit SHA to build (the harness does not resolve git refs)
    /// [default: the job's git ref, if it is a 40-hex SHA].
    #[arg(long, value_name = "SHA")]
    pub commit: Option<String>,
    /// Image to push to [default: registry.local/<namespace>/<job>:<cache key>].
    #[arg(long, value_name = "IMAGE")]
    pub output_image: Option<String>,
    /// Skip delete-build, leaving what the strategy created.
    #[arg(long)]
    pub keep: bool,
    /// Poll build-status until the build finishes, up to this many seconds (for --cluster).
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub wait: u64,
    /// Memory limit of each export call, e.g. 64Mi.
    #[arg(long, value_name = "SIZE", value_parser = nbv_runtime::sources::parse_memory)]
    pub memory_limit: Option<usize>,
    /// Deadline of each export call, e.g. 30s or 500ms.
    #[arg(long, value_name = "DURATION", value_parser = nbv_runtime::sources::parse_deadline)]
    pub deadline: Option<Duration>,
    /// Where compiled components are cached [default: $NBV_CACHE/strategies].
    #[arg(long, value_name = "DIR", conflicts_with = "no_cache")]
    pub cache_dir: Option<PathBuf>,
    /// Compile the component without reading or writing the cache.
    #[arg(long)]
    pub no_cache: bool,
}

/// An input the harness cannot work with: exit code 2.
struct InputError(String);

pub fn run(args: StrategyArgs) -> ExitCode {
    match args.command {
        StrategyCommand::Test(args) => {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("nbv strategy test: cannot start the async runtime: {e}");
                    return ExitCode::from(2);
                }
            };
            match rt.block_on(test(args)) {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::from(1),
                Err(InputError(e)) => {
                    eprintln!("nbv strategy test: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}

fn default_cache_dir() -> Option<PathBuf> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("NBV_CACHE")
        .or_else(|| env("XDG_CACHE_HOME").map(|c| c.join("nbv")))
        .or_else(|| env("HOME").map(|h| h.join(".cache").join("nbv")))
        .map(|d| d.join("strategies"))
}

/// The component's bytes and where they came from.
fn component_bytes(spec: &str) -> Result<(Vec<u8>, String), InputError> {
    if let Some(name) = spec.strip_prefix("builtin:") {
        return nbv_builtin::STRATEGIES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, b)| (b.to_vec(), "built-in".to_string()))
            .ok_or_else(|| {
                let names: Vec<&str> = nbv_builtin::STRATEGIES.iter().map(|(n, _)| *n).collect();
                InputError(format!(
                    "no built-in strategy {name:?}; built-ins: {}",
                    names.join(", ")
                ))
            });
    }
    let bytes = std::fs::read(spec).map_err(|e| {
        InputError(format!(
            "{spec}: {e} (COMPONENT is a .wasm file or builtin:NAME)"
        ))
    })?;
    Ok((bytes, spec.to_string()))
}

/// Reads and checks the job YAML; every error names the file.
fn read_job(path: &Path) -> Result<NotebookValidationJob, InputError> {
    let at = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| {
        InputError(format!(
            "{at}: {e} (--job needs a NotebookValidationJob YAML)"
        ))
    })?;
    let value: serde_yaml::Value = serde_yaml::from_str(&text)
        .map_err(|e| InputError(format!("{at}: not valid YAML: {e}")))?;
    let field = |k: &str| value.get(k).and_then(serde_yaml::Value::as_str);
    match (field("apiVersion"), field("kind")) {
        (Some("mlops.mlops.dev/v1alpha1"), Some("NotebookValidationJob")) => {}
        (api_version, kind) => {
            return Err(InputError(format!(
                "{at}: expected apiVersion mlops.mlops.dev/v1alpha1 and kind NotebookValidationJob, found {} {}",
                api_version.unwrap_or("(no apiVersion)"),
                kind.unwrap_or("(no kind)")
            )));
        }
    }
    let job: NotebookValidationJob = serde_yaml::from_value(value)
        .map_err(|e| InputError(format!("{at}: not a valid NotebookValidationJob: {e}")))?;
    if job.metadata.name.as_deref().unwrap_or_default().is_empty() {
        return Err(InputError(format!("{at}: metadata.name is missing")));
    }
    Ok(job)
}

fn is_full_sha(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The operator's own cache key, so the harness names builds as a job would.
pub use nbv_operator::build::cache_key;

struct Inputs<'a> {
    job: &'a NotebookValidationJob,
    build: &'a BuildConfigSpec,
    commit: String,
    requirements: Option<String>,
    output_image: Option<String>,
    build_name: Option<String>,
}

fn build_context(s: &Strategy, i: Inputs<'_>) -> Result<BuildContext, InputError> {
    let name = i.job.metadata.name.clone().unwrap_or_default();
    let namespace = i
        .job
        .metadata
        .namespace
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "default".into());
    let notebook = &i.job.spec.notebook;
    let (requirements, tier) = match i.requirements {
        Some(r) => (r, RequirementsTier::RequirementsFile),
        None => (String::new(), RequirementsTier::BaseImageOnly),
    };
    let key = cache_key(&i.commit, &requirements, &i.build.base_image, &s.digest);
    let given: Vec<(String, String)> = i
        .build
        .strategy_config
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let parameters = s
        .parameters(&given)
        .map_err(|e| InputError(format!("podConfig.buildConfig.strategyConfig: {e}")))?;
    let timeout = nbv_crd::parse_go_duration(&i.build.timeout).map_err(|e| {
        InputError(format!(
            "podConfig.buildConfig.timeout {:?}: {e}",
            i.build.timeout
        ))
    })?;
    let context_dir = Path::new(&notebook.path)
        .parent()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(BuildContext {
        output_image: i
            .output_image
            .unwrap_or_else(|| format!("registry.local/{namespace}/{name}:{key}")),
        build_name: i
            .build_name
            .unwrap_or_else(|| nbv_operator::build::build_name(&name, &key)),
        job_name: name,
        namespace,
        source_url: notebook.git.url.clone(),
        commit: i.commit,
        context_dir,
        notebook_path: notebook.path.clone(),
        git_credentials_secret: Some(notebook.git.credentials_secret.clone())
            .filter(|s| !s.is_empty()),
        requirements,
        requirements_tier: tier,
        dockerfile: Some(i.build.dockerfile.clone()).filter(|d| !d.is_empty()),
        base_image: i.build.base_image.clone(),
        cache_key: key,
        parameters,
        timeout_seconds: timeout.as_secs(),
    })
}

fn print_strategy(s: &Strategy, origin: &str, cache: Option<&Path>) {
    let d = &s.description;
    println!("strategy {} {} ({origin})", s.name, d.version);
    println!("  summary     {}", d.summary);
    println!("  digest      {}", s.digest);
    let compiled = match (s.compiled, cache) {
        (Compiled::FromCache, Some(dir)) => format!("from the compile cache ({})", dir.display()),
        (Compiled::FromCache, None) => "from the compile cache".into(),
        (Compiled::Fresh, Some(dir)) => format!("compiled now, cached in {}", dir.display()),
        (Compiled::Fresh, None) => "compiled now (no cache)".into(),
    };
    println!("  compiled    {compiled}");
    println!(
        "  limits      memory {} MiB, deadline {} ms per call",
        s.limits.memory_bytes >> 20,
        s.limits.deadline.as_millis()
    );
    let kinds: Vec<String> = d
        .kinds
        .iter()
        .map(|k| {
            let gv = if k.group.is_empty() {
                k.version.clone()
            } else {
                format!("{}/{}", k.group, k.version)
            };
            format!("{gv}/{} ({})", k.kind, k.plural)
        })
        .collect();
    println!("  kinds       {}", or_none(&kinds.join(", ")));
    println!("  api groups  {}", or_none(&d.requires_groups.join(", ")));
    if d.parameters.is_empty() {
        println!("  parameters  none");
    } else {
        println!("  parameters");
        for p in &d.parameters {
            let how = match (&p.default_value, p.required) {
                (_, true) => "required".to_string(),
                (Some(v), false) => format!("default {v:?}"),
                (None, false) => "optional".to_string(),
            };
            println!("    {} ({how}): {}", p.name, p.description);
        }
    }
}

fn or_none(s: &str) -> &str {
    if s.is_empty() { "none" } else { s }
}

fn print_context(job: &JobRef, c: &BuildContext) {
    println!("job {}/{} (uid {})", job.namespace, job.name, job.uid);
    println!("build context");
    let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "none".into());
    for (k, v) in [
        ("job-name", c.job_name.clone()),
        ("namespace", c.namespace.clone()),
        ("source-url", c.source_url.clone()),
        ("commit", c.commit.clone()),
        ("context-dir", c.context_dir.clone()),
        ("notebook-path", c.notebook_path.clone()),
        ("git-credentials-secret", opt(&c.git_credentials_secret)),
        ("requirements-tier", tier(c.requirements_tier).to_string()),
        (
            "requirements",
            format!("{} lines", c.requirements.lines().count()),
        ),
        ("dockerfile", opt(&c.dockerfile)),
        ("base-image", c.base_image.clone()),
        ("output-image", c.output_image.clone()),
        ("build-name", c.build_name.clone()),
        ("cache-key", c.cache_key.clone()),
        ("timeout-seconds", c.timeout_seconds.to_string()),
    ] {
        println!("  {k:<23} {v}");
    }
    if c.parameters.is_empty() {
        println!("  {:<23} none", "parameters");
    }
    let width = c.parameters.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, v) in &c.parameters {
        println!("  parameter {k:<width$} = {v:?}");
    }
}

/// The WIT spelling of a requirements tier.
fn tier(t: RequirementsTier) -> &'static str {
    match t {
        RequirementsTier::RequirementsFile => "requirements-file",
        RequirementsTier::AutoGenerated => "auto-generated",
        RequirementsTier::PipMagics => "pip-magics",
        RequirementsTier::BaseImageOnly => "base-image-only",
    }
}

/// Prints the host calls and build-log lines recorded since the last export.
struct Printer {
    calls: usize,
    lines: usize,
}

impl Printer {
    fn flush(&mut self, call: &Call) {
        let t = call.transcript();
        for h in t.calls.iter().skip(self.calls) {
            let args = if h.args.is_empty() {
                String::new()
            } else {
                format!(" {}", h.args)
            };
            println!("  host {}{args} -> {}", h.function, h.outcome);
        }
        for line in t.build_log.iter().skip(self.lines) {
            println!("  build-log | {line}");
        }
        self.calls = t.calls.len();
        self.lines = t.build_log.len();
    }
}

fn report<T>(result: &Result<T, RuntimeError>, ok: impl FnOnce(&T) -> String) -> bool {
    match result {
        Ok(v) => {
            println!("  ok: {}", ok(v));
            true
        }
        Err(e) => {
            println!("  error [{}]: {e}", e.reason());
            false
        }
    }
}

fn phase(p: BuildPhase) -> &'static str {
    match p {
        BuildPhase::Pending => "pending",
        BuildPhase::Running => "running",
        BuildPhase::Complete => "complete",
        BuildPhase::Failed => "failed",
        BuildPhase::Cancelled => "cancelled",
    }
}

async fn kube_client(path: &Path) -> Result<kube::Client, InputError> {
    let at = path.display();
    let kubeconfig =
        kube::config::Kubeconfig::read_from(path).map_err(|e| InputError(format!("{at}: {e}")))?;
    let config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .map_err(|e| InputError(format!("{at}: {e}")))?;
    kube::Client::try_from(config).map_err(|e| InputError(format!("{at}: {e}")))
}

async fn test(args: TestArgs) -> Result<bool, InputError> {
    // Inputs first: a typo in a path should not wait for a compile.
    let (bytes, origin) = component_bytes(&args.component)?;
    let job = read_job(&args.job)?;
    let requirements = args
        .requirements
        .as_ref()
        .map(|p| {
            std::fs::read_to_string(p)
                .map_err(|e| InputError(format!("{}: {e} (--requirements)", p.display())))
        })
        .transpose()?;
    let git_ref = job.spec.notebook.git.r#ref.trim();
    let commit = match &args.commit {
        Some(c) if is_full_sha(c.trim()) => c.trim().to_ascii_lowercase(),
        Some(c) => {
            return Err(InputError(format!(
                "--commit {c:?} is not a full 40-hex commit SHA"
            )));
        }
        None if is_full_sha(git_ref) => git_ref.to_ascii_lowercase(),
        None => {
            return Err(InputError(format!(
                "{}: spec.notebook.git.ref is {git_ref:?}, not a full commit SHA; the harness does not fetch \
                 the repository to resolve it, so pass --commit <40-hex SHA>",
                args.job.display()
            )));
        }
    };
    let cache = if args.no_cache {
        None
    } else {
        args.cache_dir.clone().or_else(default_cache_dir)
    };
    let mut limits = Limits::default();
    if let Some(m) = args.memory_limit {
        limits.memory_bytes = m;
    }
    if let Some(d) = args.deadline {
        limits.deadline = d;
    }
    let cluster: Arc<dyn Cluster>;
    let mut fixture: Option<Arc<FixtureCluster>> = None;
    let mut client = None;
    match (&args.cluster, &args.fixture) {
        (Some(kubeconfig), _) => {
            let c = kube_client(kubeconfig).await?;
            cluster = Arc::new(KubeCluster::new(c.clone()));
            client = Some(c);
        }
        (None, dir) => {
            let f = match dir {
                Some(dir) => FixtureCluster::load(dir).map_err(InputError)?,
                None => FixtureCluster::default(),
            };
            let f = Arc::new(f);
            cluster = f.clone();
            fixture = Some(f);
        }
    }

    let runtime = Runtime::new(cache.clone()).map_err(|e| InputError(e.to_string()))?;
    let strategy = match Strategy::load(&runtime, &bytes, None, limits).await {
        Ok(s) => s,
        Err(e) => {
            println!("loading {origin}");
            println!("  error [{}]: {e}", e.reason());
            return Ok(false);
        }
    };
    print_strategy(&strategy, &origin, cache.as_deref());

    let default_build = BuildConfigSpec::default();
    let build_config = job
        .spec
        .pod_config
        .build_config
        .as_ref()
        .unwrap_or(&default_build);
    if job.spec.pod_config.build_config.is_none() {
        println!("note: the job has no podConfig.buildConfig; using its defaults");
    } else if build_config.strategy != strategy.name {
        println!(
            "note: the job asks for strategy {:?}; testing {:?} with it anyway",
            build_config.strategy, strategy.name
        );
    }
    let context = build_context(
        &strategy,
        Inputs {
            job: &job,
            build: build_config,
            commit,
            requirements,
            output_image: args.output_image.clone(),
            build_name: args.build.clone(),
        },
    )
    .map_err(|InputError(e)| InputError(format!("{}: {e}", args.job.display())))?;

    let mut uid = PLACEHOLDER_UID.to_string();
    if let Some(client) = &client {
        let api: kube::Api<NotebookValidationJob> =
            kube::Api::namespaced(client.clone(), &context.namespace);
        match api.get_opt(&context.job_name).await {
            Ok(Some(live)) => {
                if let Some(u) = live.metadata.uid {
                    uid = u;
                }
            }
            Ok(None) => println!(
                "note: job {}/{} does not exist on the cluster; owner references use uid {PLACEHOLDER_UID}, \
                 so the garbage collector may delete what the strategy creates",
                context.namespace, context.job_name
            ),
            Err(e) => println!(
                "note: could not read job {}/{} from the cluster ({e}); using uid {PLACEHOLDER_UID}",
                context.namespace, context.job_name
            ),
        }
    }
    let job_ref = JobRef::new(&context.job_name, &context.namespace, &uid);
    print_context(&job_ref, &context);

    let mut selected: Vec<Export> = if args.export.contains(&Export::All) {
        Export::ORDER.to_vec()
    } else {
        let mut s = args.export.clone();
        s.sort();
        s.dedup();
        s
    };
    let all = args.export.contains(&Export::All);
    if args.keep {
        selected.retain(|e| *e != Export::DeleteBuild);
    }

    let mut build = context.build_name.clone();
    let call = Call::new(job_ref, context, cluster);
    let mut printer = Printer { calls: 0, lines: 0 };
    let mut ok = true;
    let mut created = true;
    let mut complete = false;
    for export in selected {
        let target = match export {
            Export::Detect | Export::CreateBuild => String::new(),
            _ => format!(" {build}"),
        };
        // In the full run, what needs a build skips once create-build failed
        // (delete-build still runs: it cleans up a partial build).
        let skip = match export {
            Export::BuildStatus | Export::Logs => all && !created,
            Export::BuiltImage => all && !complete,
            _ => false,
        };
        if skip {
            let why = if created {
                "the build is not complete"
            } else {
                "create-build failed"
            };
            println!("\n== {}{target}: skipped, {why}", export.wit_name());
            continue;
        }
        println!("\n== {}{target}", export.wit_name());
        let good = match export {
            Export::All => true,
            Export::Detect => {
                let r = strategy.detect(&call).await;
                printer.flush(&call);
                if let Ok(false) = r {
                    println!(
                        "  note: detect said no: the operator would not pick this strategy on this cluster"
                    );
                }
                report(&r, |d| d.to_string())
            }
            Export::CreateBuild => {
                let r = strategy.create_build(&call).await;
                printer.flush(&call);
                created = r.is_ok();
                if let Ok(name) = &r
                    && *name != build
                {
                    println!(
                        "  note: the context's build-name was {build:?}; later exports use {name:?}"
                    );
                    build = name.clone();
                }
                report(&r, |b| format!("build {b:?}"))
            }
            Export::BuildStatus => {
                let deadline = std::time::Instant::now() + Duration::from_secs(args.wait);
                let mut last = None;
                loop {
                    let r = strategy.build_status(&call, &build).await;
                    printer.flush(&call);
                    let done = match &r {
                        Ok(s) => {
                            complete = s.phase == BuildPhase::Complete;
                            !matches!(s.phase, BuildPhase::Pending | BuildPhase::Running)
                        }
                        Err(_) => true,
                    };
                    if done || std::time::Instant::now() >= deadline {
                        break report(&r, |s| format!("{} ({})", phase(s.phase), s.message));
                    }
                    if let Ok(s) = &r {
                        let now = (s.phase, s.message.clone());
                        if last.as_ref() != Some(&now) {
                            println!("  waiting: {} ({})", phase(s.phase), s.message);
                            last = Some(now);
                        }
                    }
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            }
            Export::BuiltImage => {
                let r = strategy.built_image(&call, &build).await;
                printer.flush(&call);
                report(&r, |i| i.clone())
            }
            Export::Logs => {
                let r = strategy.logs(&call, &build).await;
                printer.flush(&call);
                if let Ok(lines) = &r {
                    for l in lines {
                        println!("  log | {l}");
                    }
                }
                report(&r, |l| format!("{} lines", l.len()))
            }
            Export::DeleteBuild => {
                let r = strategy.delete_build(&call, &build).await;
                printer.flush(&call);
                report(&r, |_| "deleted".into())
            }
        };
        ok &= good;
    }

    if let Some(f) = fixture {
        let objects = f.objects();
        println!("\n== fixture objects after the run ({})", objects.len());
        for o in objects {
            match serde_yaml::to_string(&o) {
                Ok(y) => print!("---\n{y}"),
                Err(e) => println!("--- (not printable as YAML: {e})"),
            }
        }
    }
    println!(
        "\n{}",
        if ok {
            "result: every export returned Ok"
        } else {
            "result: at least one export failed"
        }
    );
    Ok(ok)
}
