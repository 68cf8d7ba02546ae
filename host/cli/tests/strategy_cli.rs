//! `nbv strategy test` as a strategy author runs it: the real binary against
//! recorded fixtures, the built-in kaniko strategy and the hostile fixture
//! strategy, asserting on the printed host calls, the objects left in the
//! fixture and the exit codes.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::json;

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";
const PUSHED: &str = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const BASE_IMAGE: &str = "quay.io/jupyter/minimal-notebook:latest";
const PLACEHOLDER_UID: &str = "00000000-0000-0000-0000-000000000000";

fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("strategy_cli")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// One compile cache for every test: the second load of a component is a hit.
fn cache_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("strategy_cli_cache")
}

fn nbv(args: &[&str]) -> (Option<i32>, String, String) {
    let out: Output = std::process::Command::new(env!("CARGO_BIN_EXE_nbv"))
        .args(["strategy", "test"])
        .args(args)
        .args(["--cache-dir", cache_dir().to_str().expect("utf-8")])
        .output()
        .expect("nbv runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn job_yaml(strategy: &str, config: &[(&str, &str)], git_ref: &str) -> String {
    let mut strategy_config = String::new();
    for (k, v) in config {
        strategy_config.push_str(&format!("\n        {k}: {v:?}"));
    }
    if strategy_config.is_empty() {
        strategy_config = " {}".into();
    }
    format!(
        "apiVersion: mlops.mlops.dev/v1alpha1
kind: NotebookValidationJob
metadata:
  name: demo
  namespace: team-a
spec:
  notebook:
    git:
      url: https://git.example.com/org/notebooks.git
      ref: {git_ref:?}
    path: notebooks/demo.ipynb
  podConfig:
    containerImage: {BASE_IMAGE}
    buildConfig:
      enabled: true
      strategy: {strategy}
      strategyConfig:{strategy_config}
"
    )
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path.to_str().expect("utf-8").to_string()
}

/// The operator's cache key: sha256 over the length-prefixed commit,
/// requirements, base image and strategy digest.
fn cache_key(requirements: &str, strategy_digest: &str) -> String {
    let mut input = Vec::new();
    for part in [COMMIT, requirements, BASE_IMAGE, strategy_digest] {
        input.extend_from_slice(&(part.len() as u64).to_be_bytes());
        input.extend_from_slice(part.as_bytes());
    }
    nbv_runtime::digest(&input)
        .trim_start_matches("sha256:")
        .to_string()
}

fn kaniko_digest() -> String {
    let (_, bytes) = nbv_builtin::STRATEGIES
        .iter()
        .find(|(n, _)| *n == "kaniko")
        .expect("kaniko is built in");
    nbv_runtime::digest(bytes)
}

/// A kaniko build Pod that already ran: `Succeeded`, with the pushed digest
/// as the build container's termination message, labelled as kaniko's own.
fn kaniko_fixture(dir: &Path, build: &str) -> String {
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": build, "namespace": "team-a", "labels": {
            "app.kubernetes.io/managed-by": "nbv",
            "nbv.mlops.dev/job": "demo",
            "nbv.mlops.dev/strategy": "kaniko"}},
        "status": {
            "phase": "Succeeded",
            "initContainerStatuses": [{"name": "clone",
                "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}],
            "containerStatuses": [{"name": "build",
                "state": {"terminated": {"exitCode": 0, "reason": "Completed", "message": PUSHED}}}]
        }
    });
    let cluster = json!({
        "apiGroups": [],
        "objects": [pod],
        "logs": {
            format!("{build}/clone"): "cloned notebooks at 0123456",
            format!("{build}/build"): "INFO Pushing image\nINFO Pushed registry.local/team-a/demo"
        }
    });
    let fixture = dir.join("fixture");
    std::fs::create_dir_all(&fixture).expect("fixture dir");
    write(&fixture, "cluster.json", &cluster.to_string());
    fixture.to_str().expect("utf-8").to_string()
}

#[test]
fn kaniko_runs_every_export_against_a_finished_build_pod() {
    let dir = scratch("kaniko");
    let key = cache_key("", &kaniko_digest());
    let build = format!("demo-{}", &key[..8]);
    let fixture = kaniko_fixture(&dir, &build);
    let job = write(
        &dir,
        "job.yaml",
        &job_yaml("kaniko", &[("pushSecret", "push-creds")], COMMIT),
    );

    // --keep: everything but delete-build, and the fixture keeps what was made.
    let (code, out, err) = nbv(&[
        "builtin:kaniko",
        "--job",
        &job,
        "--fixture",
        &fixture,
        "--keep",
    ]);
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(out.contains("strategy kaniko 0.1.0 (built-in)"), "{out}");
    assert!(
        out.contains(&format!("digest      {}", kaniko_digest())),
        "{out}"
    );
    assert!(out.contains("v1/Pod (pods)"), "{out}");
    assert!(out.contains("pushSecret (optional)"), "{out}");
    assert!(
        out.contains(&format!("cache-key               {key}")),
        "{out}"
    );
    assert!(
        out.contains(&format!("build-name              {build}")),
        "{out}"
    );
    assert!(
        out.contains(&format!("job team-a/demo (uid {PLACEHOLDER_UID})")),
        "{out}"
    );
    assert!(
        out.contains("requirements-tier       base-image-only"),
        "{out}"
    );
    assert!(out.contains("context-dir             notebooks"), "{out}");
    // The exports in order, each with the host calls it made.
    let order: Vec<usize> = [
        "== detect",
        "== create-build",
        "== build-status",
        "== built-image",
        "== logs",
    ]
    .iter()
    .map(|h| out.find(h).unwrap_or_else(|| panic!("no {h}: {out}")))
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{out}");
    assert!(!out.contains("== delete-build"), "--keep skips it: {out}");
    assert!(out.contains("host build.context -> \"ok\""), "{out}");
    assert!(
        out.contains(&format!(
            "host k8s.apply ConfigMap {build}-src -> Ok(\"applied\")"
        )),
        "{out}"
    );
    // The Pod already existed (and is kaniko's), so it was adopted, not re-applied.
    assert!(
        out.contains(&format!("host k8s.get v1 Pod {build} -> Ok(true)")),
        "{out}"
    );
    assert!(!out.contains(&format!("k8s.apply Pod {build}")), "{out}");
    assert!(
        out.contains(&format!("build-log | kaniko: pod {build} builds https://git.example.com/org/notebooks.git at {COMMIT}")),
        "{out}"
    );
    assert!(
        out.contains("ok: complete (image built and pushed)"),
        "{out}"
    );
    assert!(
        out.contains(&format!("ok: registry.local/team-a/demo@{PUSHED}")),
        "{out}"
    );
    assert!(out.contains("log | [build] INFO Pushing image"), "{out}");
    assert!(out.contains("log | [clone] cloned notebooks"), "{out}");
    assert!(out.contains("ok: 3 lines"), "{out}");
    // What kaniko created, stamped by the host, as YAML.
    let objects = &out[out
        .find("== fixture objects after the run (2)")
        .expect(&out)..];
    assert!(objects.contains(&format!("name: {build}-src")), "{objects}");
    assert!(objects.contains("requirements.txt: ''"), "{objects}");
    assert!(
        objects.contains("FROM quay.io/jupyter/minimal-notebook:latest"),
        "{objects}"
    );
    assert!(
        objects.contains("nbv.mlops.dev/strategy: kaniko"),
        "{objects}"
    );
    assert!(
        objects.contains(&format!("uid: {PLACEHOLDER_UID}")),
        "{objects}"
    );
    assert!(
        objects.contains(&format!(
            "nbv.mlops.dev/strategy-digest: {}",
            kaniko_digest()
        )),
        "{objects}"
    );
    assert!(out.contains("result: every export returned Ok"), "{out}");

    // The full run cleans up, and the second load comes from the compile cache.
    let (code, out, err) = nbv(&["builtin:kaniko", "--job", &job, "--fixture", &fixture]);
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(out.contains("compiled    from the compile cache"), "{out}");
    assert!(
        out.contains(&format!("host k8s.delete v1 Pod {build} -> Ok(true)")),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "host k8s.delete v1 ConfigMap {build}-src -> Ok(true)"
        )),
        "{out}"
    );
    assert!(
        out.contains("== fixture objects after the run (0)"),
        "{out}"
    );

    // One export at a time, against a named build.
    let (code, out, err) = nbv(&[
        "builtin:kaniko",
        "--job",
        &job,
        "--fixture",
        &fixture,
        "--export",
        "build-status,built-image",
        "--build",
        &build,
        "--output-image",
        "registry.example.com/x/y:tag",
    ]);
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(!out.contains("== create-build"), "{out}");
    assert!(out.contains(&format!("== built-image {build}")), "{out}");
    assert!(
        out.contains(&format!("ok: registry.example.com/x/y@{PUSHED}")),
        "{out}"
    );
}

#[test]
fn a_strategy_error_is_exit_1_with_its_reason() {
    let dir = scratch("kaniko_pending");
    // No pod recorded: create-build applies one, which has no status yet.
    let fixture = dir.join("empty");
    std::fs::create_dir_all(&fixture).expect("dir");
    write(&fixture, "cluster.json", "{}");
    let job = write(&dir, "job.yaml", &job_yaml("kaniko", &[], COMMIT));
    let (code, out, err) = nbv(&[
        "builtin:kaniko",
        "--job",
        &job,
        "--fixture",
        fixture.to_str().expect("utf-8"),
        "--export",
        "create-build,built-image",
        "--keep",
    ]);
    assert_eq!(code, Some(1), "{out}\n{err}");
    assert!(out.contains("k8s.apply Pod demo-"), "{out}");
    assert!(
        out.contains("error [StrategyError]: strategy kaniko failed in built-image"),
        "{out}"
    );
    assert!(out.contains("is Pending, not Succeeded"), "{out}");
    assert!(
        out.contains("== fixture objects after the run (2)"),
        "{out}"
    );
    assert!(out.contains("result: at least one export failed"), "{out}");
}

#[test]
fn the_hostile_fixture_behaves_with_mode_ok_and_fails_with_mode_panic() {
    let dir = scratch("hostile");
    let wasm = dir.join("hostile.wasm");
    std::fs::write(&wasm, nbv_builtin::HOSTILE).expect("write component");
    let wasm = wasm.to_str().expect("utf-8");

    let job = write(&dir, "ok.yaml", &job_yaml("hostile", &[], COMMIT));
    let (code, out, err) = nbv(&[wasm, "--job", &job]);
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(
        out.contains(&format!("strategy hostile 0.1.0 ({wasm})")),
        "{out}"
    );
    assert!(out.contains("mode (default \"ok\")"), "{out}");
    assert!(
        out.contains("host log.log Level::Info -> \"creating the marker config map\""),
        "{out}"
    );
    assert!(out.contains("build-log | build demo-"), "{out}");
    assert!(out.contains("ok: complete (marker exists)"), "{out}");
    assert!(
        out.contains("@sha256:0000000000000000000000000000000000000000000000000000000000000000"),
        "{out}"
    );
    assert!(out.contains("host k8s.delete v1 ConfigMap demo-"), "{out}");
    assert!(
        out.contains("== fixture objects after the run (0)"),
        "{out}"
    );

    let job = write(
        &dir,
        "panic.yaml",
        &job_yaml("hostile", &[("mode", "panic")], COMMIT),
    );
    let (code, out, err) = nbv(&[wasm, "--job", &job]);
    assert_eq!(code, Some(1), "{out}\n{err}");
    assert!(
        out.contains("error [StrategyTrapped]: strategy hostile panicked in create-build"),
        "{out}"
    );
    assert!(
        out.contains("strategy bug: unexpected build context"),
        "{out}"
    );
    assert!(out.contains("== build-status demo-"), "{out}");
    assert!(out.contains("skipped, create-build failed"), "{out}");
    // delete-build still runs, to clean up a partial build.
    assert!(out.contains("== delete-build demo-"), "{out}");

    let job = write(
        &dir,
        "loop.yaml",
        &job_yaml("hostile", &[("mode", "loop")], COMMIT),
    );
    let (code, out, err) = nbv(&[
        wasm,
        "--job",
        &job,
        "--export",
        "create-build",
        "--deadline",
        "300ms",
    ]);
    assert_eq!(code, Some(1), "{out}\n{err}");
    assert!(
        out.contains(
            "error [StrategyTimeout]: strategy hostile exceeded its 300 ms deadline in create-build"
        ),
        "{out}"
    );
}

#[test]
fn input_errors_exit_2_and_say_what_is_wrong() {
    let dir = scratch("inputs");
    let missing = dir.join("nope.yaml");
    let missing = missing.to_str().expect("utf-8");
    let (code, out, err) = nbv(&["builtin:kaniko", "--job", missing]);
    assert_eq!(code, Some(2), "{out}\n{err}");
    assert!(
        err.contains(missing) && err.contains("NotebookValidationJob"),
        "{err}"
    );

    let job = write(&dir, "branch.yaml", &job_yaml("kaniko", &[], "main"));
    let (code, _, err) = nbv(&["builtin:kaniko", "--job", &job]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("\"main\"") && err.contains("pass --commit"),
        "{err}"
    );
    // --commit makes the same job usable.
    let (code, out, err) = nbv(&[
        "builtin:kaniko",
        "--job",
        &job,
        "--commit",
        COMMIT,
        "--export",
        "detect",
    ]);
    assert_eq!(code, Some(0), "{out}\n{err}");

    let job = write(
        &dir,
        "param.yaml",
        &job_yaml("kaniko", &[("bogus", "x")], COMMIT),
    );
    let (code, _, err) = nbv(&["builtin:kaniko", "--job", &job]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("param.yaml")
            && err.contains("has no parameter \"bogus\"")
            && err.contains("pushSecret"),
        "{err}"
    );

    let job = write(
        &dir,
        "spec.yaml",
        "apiVersion: mlops.mlops.dev/v1alpha1\nkind: NotebookValidationJob\nmetadata: {name: x}\nspec: {podConfig: {containerImage: i}}\n",
    );
    let (code, _, err) = nbv(&["builtin:kaniko", "--job", &job]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("spec.yaml") && err.contains("notebook"),
        "{err}"
    );

    let job = write(
        &dir,
        "pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n",
    );
    let (code, _, err) = nbv(&["builtin:kaniko", "--job", &job]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("pod.yaml") && err.contains("found v1 Pod"),
        "{err}"
    );

    let (code, _, err) = nbv(&["builtin:nope", "--job", &job]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("s2i, tekton, kaniko"), "{err}");
}
