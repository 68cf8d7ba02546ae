//! The sandbox against a misbehaving strategy (tests/fixtures/hostile): every
//! misbehaviour is contained with the expected typed error, and the same
//! runtime keeps serving calls afterwards.

use std::sync::Arc;
use std::time::Duration;

use nbv_runtime::engine::Compiled;
use nbv_runtime::{
    BuildContext, BuildPhase, Call, FixtureCluster, GuestError, JobRef, Limits, RequirementsTier,
    Runtime, RuntimeError, Strategy,
};
use serde_json::json;

fn context(mode: &str, target: &str) -> BuildContext {
    BuildContext {
        job_name: "job-a".into(),
        namespace: "team-a".into(),
        source_url: "https://git.example.com/nbs.git".into(),
        commit: "0123456789abcdef0123456789abcdef01234567".into(),
        context_dir: String::new(),
        notebook_path: "a.ipynb".into(),
        git_credentials_secret: None,
        requirements: "pandas==2.2.2\n".into(),
        requirements_tier: RequirementsTier::RequirementsFile,
        dockerfile: None,
        base_image: "quay.io/jupyter/minimal-notebook:latest".into(),
        output_image: "registry.example.com/team-a/nbv:abc123".into(),
        build_name: "job-a-abc123".into(),
        cache_key: "abc123".into(),
        parameters: vec![
            ("mode".into(), mode.into()),
            ("target".into(), target.into()),
        ],
        timeout_seconds: 60,
    }
}

fn cluster() -> Arc<FixtureCluster> {
    Arc::new(
        FixtureCluster::from_value(&json!({
            "objects": [{"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "precious", "namespace": "team-a"}, "data": {"k": "v"}}]
        }))
        .expect("fixture"),
    )
}

fn limits() -> Limits {
    Limits {
        memory_bytes: 32 << 20,
        deadline: Duration::from_millis(1500),
    }
}

async fn hostile(runtime: &Runtime) -> Arc<Strategy> {
    Strategy::load(runtime, nbv_builtin::HOSTILE, None, limits())
        .await
        .expect("hostile fixture loads")
}

fn call(mode: &str, target: &str, cluster: Arc<FixtureCluster>) -> Call {
    Call::new(
        JobRef::new("job-a", "team-a", "uid-1"),
        context(mode, target),
        cluster,
    )
}

/// After any misbehaviour, the same runtime and strategy still serve a good call.
async fn still_serves(strategy: &Strategy) {
    let fixture = cluster();
    let c = call("ok", "", fixture.clone());
    let build = strategy
        .create_build(&c)
        .await
        .expect("a good call after a bad one");
    assert_eq!(build, "job-a-abc123");
}

#[tokio::test]
async fn an_endless_loop_hits_the_epoch_deadline() {
    let runtime = Runtime::new(None).expect("runtime");
    let s = hostile(&runtime).await;
    let started = std::time::Instant::now();
    let err = s
        .create_build(&call("loop", "", cluster()))
        .await
        .expect_err("must not return");
    assert!(
        matches!(
            err,
            RuntimeError::Deadline {
                export: "create-build",
                limit_ms: 1500,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.reason(), "StrategyTimeout");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    still_serves(&s).await;
}

#[tokio::test]
async fn a_memory_bomb_hits_the_memory_limit() {
    let runtime = Runtime::new(None).expect("runtime");
    let s = hostile(&runtime).await;
    let err = s
        .create_build(&call("memory", "", cluster()))
        .await
        .expect_err("must not return");
    assert!(
        matches!(err, RuntimeError::OutOfMemory { limit_bytes, .. } if limit_bytes == 32 << 20),
        "{err}"
    );
    still_serves(&s).await;
}

#[tokio::test]
async fn a_panic_is_a_typed_error_carrying_the_guest_stderr() {
    let runtime = Runtime::new(None).expect("runtime");
    let s = hostile(&runtime).await;
    let err = s
        .create_build(&call("panic", "", cluster()))
        .await
        .expect_err("must not return");
    match &err {
        RuntimeError::Panic { stderr, .. } => {
            assert!(
                stderr.contains("about to panic: the build context was job-a"),
                "{stderr}"
            );
            assert!(
                stderr.contains("strategy bug: unexpected build context"),
                "{stderr}"
            );
        }
        other => panic!("expected a panic, got {other}"),
    }
    assert!(err.to_string().contains("strategy bug"), "{err}");
    still_serves(&s).await;
}

fn denial(err: RuntimeError) -> String {
    match err {
        RuntimeError::Guest {
            error: GuestError::Denied(m),
            ..
        } => m,
        other => panic!("expected a sandbox denial, got {other}"),
    }
}

#[tokio::test]
async fn applying_into_another_namespace_is_denied() {
    let runtime = Runtime::new(None).expect("runtime");
    let s = hostile(&runtime).await;
    let fixture = cluster();
    let err = s
        .create_build(&call("other-namespace", "kube-system", fixture.clone()))
        .await
        .expect_err("denied");
    assert_eq!(err.reason(), "StrategyDenied");
    let msg = denial(err);
    assert!(
        msg.contains("kube-system") && msg.contains("team-a"),
        "{msg}"
    );
    assert!(
        fixture
            .objects()
            .iter()
            .all(|o| o["metadata"]["name"] != "escape"),
        "nothing was created"
    );
}

#[tokio::test]
async fn deleting_or_reading_an_object_the_strategy_did_not_create_is_refused() {
    let runtime = Runtime::new(None).expect("runtime");
    let s = hostile(&runtime).await;
    let fixture = cluster();
    let msg = denial(
        s.create_build(&call("delete-foreign", "precious", fixture.clone()))
            .await
            .expect_err("denied"),
    );
    assert!(
        msg.contains("precious") && msg.contains("only delete their own"),
        "{msg}"
    );
    assert!(
        fixture
            .objects()
            .iter()
            .any(|o| o["metadata"]["name"] == "precious"),
        "still there"
    );
    // Reading it reports "absent", so a strategy cannot probe the namespace.
    let seen = s
        .create_build(&call("get-foreign", "precious", fixture))
        .await
        .expect("get");
    assert_eq!(seen, "");
}

#[tokio::test]
async fn an_undeclared_kind_is_denied() {
    let runtime = Runtime::new(None).expect("runtime");
    let s = hostile(&runtime).await;
    let msg = denial(
        s.create_build(&call("undeclared-kind", "", cluster()))
            .await
            .expect_err("denied"),
    );
    assert!(
        msg.contains("v1/Secret") && msg.contains("not declared"),
        "{msg}"
    );
}

#[tokio::test]
async fn a_component_importing_sockets_is_rejected_at_load() {
    let runtime = Runtime::new(None).expect("runtime");
    let wat = r#"(component (import "wasi:sockets/tcp@0.2.0" (instance)))"#;
    let bytes = wat::parse_str(wat).expect("wat");
    let err = Strategy::load(&runtime, &bytes, None, limits())
        .await
        .expect_err("rejected");
    assert!(
        matches!(&err, RuntimeError::ForbiddenImport { import } if import == "wasi:sockets/tcp@0.2.0"),
        "{err}"
    );
    // The runtime is unaffected.
    still_serves(hostile(&runtime).await.as_ref()).await;
}

#[tokio::test]
async fn a_well_behaved_call_is_stamped_recorded_and_cleaned_up() {
    let runtime = Runtime::new(None).expect("runtime");
    let s = hostile(&runtime).await;
    assert_eq!(s.name, "hostile");
    assert!(s.digest.starts_with("sha256:") && s.digest.len() == 71);
    let fixture = cluster();
    let c = call("ok", "", fixture.clone());
    let build = s.create_build(&c).await.expect("create");
    let created = fixture
        .objects()
        .into_iter()
        .find(|o| o["metadata"]["name"] == build.as_str())
        .expect("config map created");
    assert_eq!(created["metadata"]["namespace"], "team-a");
    assert_eq!(
        created["metadata"]["labels"]["nbv.mlops.dev/strategy"],
        "hostile"
    );
    assert_eq!(created["metadata"]["labels"]["nbv.mlops.dev/job"], "job-a");
    assert_eq!(created["metadata"]["ownerReferences"][0]["uid"], "uid-1");
    assert_eq!(
        created["metadata"]["annotations"]["nbv.mlops.dev/strategy-digest"],
        s.digest.as_str()
    );
    let transcript = c.transcript();
    assert_eq!(
        transcript.build_log,
        vec!["build job-a-abc123 started".to_string()]
    );
    let functions: Vec<&str> = transcript
        .calls
        .iter()
        .map(|h| h.function.as_str())
        .collect();
    assert_eq!(
        functions,
        ["build.context", "log.log", "events.build-log", "k8s.apply"]
    );
    let state = s.build_status(&c, &build).await.expect("status");
    assert_eq!(state.phase, BuildPhase::Complete);
    let image = s.built_image(&c, &build).await.expect("image");
    assert!(
        image.starts_with("registry.example.com/team-a/nbv@sha256:"),
        "{image}"
    );
    s.delete_build(&c, &build).await.expect("delete");
    assert_eq!(
        s.build_status(&c, &build).await.expect("status").phase,
        BuildPhase::Pending
    );
    assert!(
        fixture
            .objects()
            .iter()
            .any(|o| o["metadata"]["name"] == "precious")
    );
}

#[tokio::test]
async fn parameters_are_checked_against_the_declaration() {
    let runtime = Runtime::new(None).expect("runtime");
    let s = hostile(&runtime).await;
    let filled = s
        .parameters(&[("mode".into(), "panic".into())])
        .expect("known");
    assert_eq!(
        filled,
        vec![
            ("mode".to_string(), "panic".to_string()),
            ("target".to_string(), String::new())
        ]
    );
    let err = s
        .parameters(&[("registry".into(), "x".into())])
        .expect_err("unknown");
    assert!(
        err.to_string().contains("\"registry\"") && err.to_string().contains("mode, target"),
        "{err}"
    );
}

#[tokio::test]
async fn bad_bytes_and_wrong_digests_are_refused_with_what_to_do() {
    let runtime = Runtime::new(None).expect("runtime");
    let err = Strategy::load(&runtime, b"MZ not wasm", None, limits())
        .await
        .expect_err("bad");
    assert!(err.to_string().contains("wasm32-wasip2"), "{err}");
    let pinned = format!("sha256:{}", "0".repeat(64));
    let err = Strategy::load(&runtime, nbv_builtin::HOSTILE, Some(&pinned), limits())
        .await
        .expect_err("mismatch");
    assert!(matches!(err, RuntimeError::DigestMismatch { .. }), "{err}");
    let core_module = wat::parse_str("(module)").expect("wat");
    let err = Strategy::load(&runtime, &core_module, None, limits())
        .await
        .expect_err("module");
    assert!(matches!(err, RuntimeError::InvalidComponent(_)), "{err}");
}

#[tokio::test]
async fn compiled_components_are_cached_by_digest_and_engine() {
    let dir = tempfile::tempdir().expect("tmp");
    let first = Runtime::new(Some(dir.path().to_path_buf())).expect("runtime");
    let s = Strategy::load(&first, nbv_builtin::HOSTILE, None, limits())
        .await
        .expect("load");
    assert_eq!(s.compiled, Compiled::Fresh);
    let path = first.cache_path(&s.digest).expect("cache path");
    assert!(path.exists(), "{}", path.display());
    let second = Runtime::new(Some(dir.path().to_path_buf())).expect("runtime");
    let again = Strategy::load(&second, nbv_builtin::HOSTILE, None, limits())
        .await
        .expect("load");
    assert_eq!(again.compiled, Compiled::FromCache);
    still_serves(&again).await;
    // A corrupt entry is ignored and replaced, never fatal. (Replaced by
    // rename, as the cache itself writes: live strategies map the old file.)
    let tmp = dir.path().join("garbage");
    std::fs::write(&tmp, b"garbage").expect("corrupt");
    std::fs::rename(&tmp, &path).expect("corrupt");
    let third = Runtime::new(Some(dir.path().to_path_buf())).expect("runtime");
    let s3 = Strategy::load(&third, nbv_builtin::HOSTILE, None, limits())
        .await
        .expect("load");
    assert_eq!(s3.compiled, Compiled::Fresh);
}

#[tokio::test]
async fn a_new_version_that_fails_to_load_leaves_the_old_one_serving() {
    let runtime = Runtime::new(None).expect("runtime");
    let registry = nbv_runtime::Registry::new(runtime);
    let good = registry
        .register(
            "hostile",
            nbv_runtime::Source::BuiltIn,
            nbv_builtin::HOSTILE,
            None,
            limits(),
        )
        .await
        .expect("v1");
    let broken =
        wat::parse_str(r#"(component (import "wasi:http/outgoing-handler@0.2.0" (instance)))"#)
            .expect("wat");
    let err = registry
        .register(
            "hostile",
            nbv_runtime::Source::BuiltIn,
            &broken,
            None,
            limits(),
        )
        .await
        .expect_err("v2 refused");
    assert!(err.to_string().contains("wasi:http"), "{err}");
    assert_eq!(
        registry.get("hostile").expect("serving").digest,
        good.digest
    );
    assert!(registry.failures()["hostile"].contains("wasi:http"));
    // A component registered under another name is refused.
    let err = registry
        .register(
            "s2i",
            nbv_runtime::Source::BuiltIn,
            nbv_builtin::HOSTILE,
            None,
            limits(),
        )
        .await
        .expect_err("name mismatch");
    assert!(
        err.to_string().contains("calls itself \"hostile\""),
        "{err}"
    );
    // Unregistering stops new jobs, but a job pinned to the digest keeps it.
    registry.unregister("hostile");
    assert!(registry.get("hostile").is_none());
    assert!(registry.pinned(&good.digest).is_some());
    let unknown = registry.unknown("hostile").to_string();
    assert!(
        unknown.contains("no build strategy named \"hostile\""),
        "{unknown}"
    );
}
