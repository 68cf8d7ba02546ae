//! Scale benchmark: N jobs created at once on the real apiserver; prints the
//! time until every validation pod exists and the operator's peak RSS.
//!
//! `cargo bench -p nbv-tests --bench scale` (N defaults to 1000; NBV_SCALE_JOBS overrides).
//! Needs NBV_CONTROLPLANE_BIN and the venv like the tests (`make bench-scale`).
//! The operator runs as its own `nbv operator` process so its RSS is its own.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, PostParams};
use nbv_crd::NotebookValidationJob;
use nbv_tests::gitserver::GitServer;
use nbv_tests::{ControlPlane, Options, create_namespace, install_nbv_crd};

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::var("NBV_SCALE_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let cp = ControlPlane::shared(Options::default())?;
    let client = cp.client().await?;
    install_nbv_crd(&client).await?;
    let ns = create_namespace(&client, "scale").await?;
    let git = GitServer::start(None).await?;
    let nb = r#"{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []}"#;
    let (url, _) = git.create_repo("scale", &[("a.ipynb", nb)])?;

    let mut operator = tokio::process::Command::new(env!("CARGO_BIN_EXE_nbv"))
        .args([
            "operator",
            "--runner-image",
            "nbv:bench",
            "--namespace",
            &ns,
            "--watch-namespace",
            &ns,
        ])
        .args(["--metrics-addr", "127.0.0.1:0", "--leader-elect", "false"])
        .env("KUBECONFIG", cp.kubeconfig_path())
        .kill_on_drop(true)
        .spawn()?;
    let pid = operator.id().unwrap_or_default();

    let jobs: Api<NotebookValidationJob> = Api::namespaced(client.clone(), &ns);
    let started = Instant::now();
    let creates = (0..n).map(|i| {
        let jobs = jobs.clone();
        let job: NotebookValidationJob = serde_json::from_value(serde_json::json!({
            "apiVersion": "mlops.mlops.dev/v1alpha1", "kind": "NotebookValidationJob",
            "metadata": {"name": format!("job-{i}")},
            "spec": {"notebook": {"git": {"url": url, "ref": "main"}, "path": "a.ipynb"},
                     "podConfig": {"containerImage": "img"}}}))
        .expect("job");
        async move { jobs.create(&PostParams::default(), &job).await.map(|_| ()) }
    });
    // Bounded concurrency: this measures the operator, not the client.
    use futures::StreamExt;
    let results: Vec<_> = futures::stream::iter(creates)
        .buffer_unordered(32)
        .collect()
        .await;
    results.into_iter().collect::<Result<Vec<_>, _>>()?;
    let created = started.elapsed();

    let pods: Api<Pod> = Api::namespaced(client, &ns);
    loop {
        let count = pods
            .list(&ListParams::default().labels("app.kubernetes.io/managed-by=nbv"))
            .await?
            .items
            .len();
        if count >= n {
            break;
        }
        if started.elapsed() > Duration::from_secs(1800) {
            anyhow::bail!("only {count} of {n} validation pods after 30 minutes");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let all_pods = started.elapsed();
    let rss = peak_rss_kib(pid);
    operator.kill().await?;
    println!("scale benchmark: {n} NotebookValidationJobs on a real kube-apiserver (2 cores)");
    println!(
        "  created all jobs in          {:>8.2}s",
        created.as_secs_f64()
    );
    println!(
        "  every validation pod after   {:>8.2}s",
        all_pods.as_secs_f64()
    );
    println!(
        "  throughput                   {:>8.1} jobs/s",
        n as f64 / all_pods.as_secs_f64()
    );
    match rss {
        Some(kib) => println!(
            "  operator peak RSS            {:>8.1} MiB",
            kib as f64 / 1024.0
        ),
        None => println!("  operator peak RSS            unavailable"),
    }
    Ok(())
}
