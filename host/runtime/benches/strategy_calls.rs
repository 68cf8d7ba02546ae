//! What a strategy call costs, against a native trait-object baseline.
//!
//! - `warm/detect`: `detect` on a loaded strategy: a fresh store and instance
//!   from the `InstancePre`, the call, teardown (the operator's hot path).
//! - `warm/build-status`: the same plus one guarded fixture lookup (`k8s.get`).
//! - `load/cached`: `Strategy::load` when the engine's cache dir already holds
//!   the compiled component (deserialize, import check, `describe` + `name`).
//! - `load/compile`: `Strategy::load` into an empty cache dir (cranelift
//!   compile, cache write, `describe` + `name`).
//! - `native/detect` and `native/context-lookup`: a `dyn` trait call returning
//!   true, and a build-context clone plus one lookup in the same fixture,
//!   the native equivalents of the two warm calls.
//!
//! `cargo bench -p nbv-runtime --bench strategy_calls`; bench/strategy_runtime.sh
//! prints the table with goals and ratios.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use nbv_runtime::engine::Compiled;
use nbv_runtime::{
    BuildContext, Call, Cluster, FixtureCluster, JobRef, Limits, RequirementsTier, Runtime,
    Strategy,
};
use serde_json::json;

fn context() -> BuildContext {
    BuildContext {
        job_name: "job-a".into(),
        namespace: "team-a".into(),
        source_url: "https://git.example.com/nbs.git".into(),
        commit: "0123456789abcdef0123456789abcdef01234567".into(),
        context_dir: String::new(),
        notebook_path: "a.ipynb".into(),
        git_credentials_secret: None,
        requirements: "pandas==2.2.2\nnumpy==2.0.0\n".into(),
        requirements_tier: RequirementsTier::RequirementsFile,
        dockerfile: None,
        base_image: "quay.io/jupyter/minimal-notebook:latest".into(),
        output_image: "registry.example.com/team-a/nbv:abc123".into(),
        build_name: "job-a-abc123".into(),
        cache_key: "abc123".into(),
        parameters: vec![("mode".into(), "ok".into()), ("target".into(), "".into())],
        timeout_seconds: 60,
    }
}

/// The fixture holds the marker ConfigMap `build-status` looks for, labelled
/// as the hostile strategy's own for job-a.
fn fixture() -> Arc<FixtureCluster> {
    Arc::new(
        FixtureCluster::from_value(&json!({"objects": [{
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "job-a-abc123", "namespace": "team-a", "labels": {
                "app.kubernetes.io/managed-by": "nbv",
                "nbv.mlops.dev/job": "job-a",
                "nbv.mlops.dev/strategy": "hostile"}},
            "data": {"k": "v"}}]}))
        .expect("fixture"),
    )
}

fn limits() -> Limits {
    Limits::default()
}

fn tokio() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio")
}

/// The native stand-in for a strategy: what the same work costs without wasm.
trait NativeStrategy: Send + Sync {
    fn detect(&self) -> bool;
}

struct AlwaysDetects;

impl NativeStrategy for AlwaysDetects {
    fn detect(&self) -> bool {
        true
    }
}

fn warm(c: &mut Criterion) {
    let rt = tokio();
    let runtime = Runtime::new(None).expect("runtime");
    let strategy = rt
        .block_on(Strategy::load(
            &runtime,
            nbv_builtin::HOSTILE,
            None,
            limits(),
        ))
        .expect("load");
    let call = Call::new(
        JobRef::new("job-a", "team-a", "uid-1"),
        context(),
        fixture(),
    );
    assert!(rt.block_on(strategy.detect(&call)).expect("detect"));
    let state = rt
        .block_on(strategy.build_status(&call, "job-a-abc123"))
        .expect("status");
    assert_eq!(
        state.message, "marker exists",
        "the fixture lookup finds the marker"
    );

    let mut g = c.benchmark_group("warm");
    g.bench_function("detect", |b| {
        b.iter(|| {
            rt.block_on(strategy.detect(black_box(&call)))
                .expect("detect")
        })
    });
    g.bench_function("build-status", |b| {
        // A fresh call each time, as the operator makes one per reconcile:
        // the transcript starts empty instead of growing across iterations.
        b.iter_batched(
            || {
                Call::new(
                    JobRef::new("job-a", "team-a", "uid-1"),
                    context(),
                    fixture(),
                )
            },
            |call| {
                rt.block_on(strategy.build_status(&call, "job-a-abc123"))
                    .expect("status")
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn native(c: &mut Criterion) {
    let rt = tokio();
    let strategy: Arc<dyn NativeStrategy> = Arc::new(AlwaysDetects);
    let ctx = context();
    let cluster: Arc<dyn Cluster> = fixture();
    let mut g = c.benchmark_group("native");
    g.bench_function("detect", |b| b.iter(|| black_box(&strategy).detect()));
    g.bench_function("context-lookup", |b| {
        b.iter(|| {
            let ctx = black_box(&ctx).clone();
            let found = rt
                .block_on(cluster.get(&ctx.namespace, "v1", "ConfigMap", &ctx.build_name))
                .expect("get");
            black_box((ctx, found))
        })
    });
    g.finish();
}

fn load(c: &mut Criterion) {
    let rt = tokio();
    let cache = tempfile::tempdir().expect("tmp");
    let runtime = Runtime::new(Some(cache.path().to_path_buf())).expect("runtime");
    let first = rt
        .block_on(Strategy::load(
            &runtime,
            nbv_builtin::HOSTILE,
            None,
            limits(),
        ))
        .expect("load");
    assert_eq!(first.compiled, Compiled::Fresh);
    drop(first);

    let mut g = c.benchmark_group("load");
    g.bench_function("cached", |b| {
        b.iter(|| {
            let s = rt
                .block_on(Strategy::load(
                    &runtime,
                    nbv_builtin::HOSTILE,
                    None,
                    limits(),
                ))
                .expect("load");
            assert_eq!(s.compiled, Compiled::FromCache);
            s
        })
    });
    // Compiling takes hundreds of milliseconds: the fewest samples criterion allows.
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    g.bench_function("compile", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().expect("tmp");
                let runtime = Runtime::new(Some(dir.path().to_path_buf())).expect("runtime");
                (dir, runtime)
            },
            |(dir, runtime)| {
                let s = rt
                    .block_on(Strategy::load(
                        &runtime,
                        nbv_builtin::HOSTILE,
                        None,
                        limits(),
                    ))
                    .expect("load");
                assert_eq!(s.compiled, Compiled::Fresh);
                (dir, runtime, s)
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn config() -> Criterion {
    // Two cores, shared with other builds: short runs.
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = native, warm, load
}
criterion_main!(benches);
