//! Test platform: a real etcd + kube-apiserver (+ kube-controller-manager)
//! for integration tests, and helpers to install CRDs into it.

pub mod controlplane;
pub mod e2e;
pub mod gitserver;
pub mod kubelet;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ObjectMeta, Patch, PatchParams, PostParams};

pub use controlplane::{ControlPlane, Options};

/// The workspace root, for reading committed manifests.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Server-side applies a CRD from YAML and waits until it is Established.
pub async fn install_crd(
    client: &kube::Client,
    path: &Path,
) -> anyhow::Result<CustomResourceDefinition> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let crd: CustomResourceDefinition =
        serde_yaml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let name = crd.metadata.name.clone().context("CRD without a name")?;
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    api.patch(
        &name,
        &PatchParams::apply("nbv-tests").force(),
        &Patch::Apply(&crd),
    )
    .await
    .with_context(|| format!("applying {name}"))?;
    let started = Instant::now();
    loop {
        let current = api.get(&name).await?;
        let established = current
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| {
                cs.iter()
                    .any(|c| c.type_ == "Established" && c.status == "True")
            });
        if established {
            return Ok(current);
        }
        if started.elapsed() > Duration::from_secs(30) {
            bail!("CRD {name} was not Established within 30s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Installs the NotebookValidationJob CRD committed under deploy/.
pub async fn install_nbv_crd(client: &kube::Client) -> anyhow::Result<CustomResourceDefinition> {
    install_crd(client, &workspace_root().join(nbv_crd::CRD_PATH)).await
}

/// The stand-ins for OpenShift's build.openshift.io and image.openshift.io APIs.
pub async fn install_openshift_standins(client: &kube::Client) -> anyhow::Result<()> {
    for f in [
        "openshift-buildconfig",
        "openshift-build",
        "openshift-imagestream",
    ] {
        install_crd(
            client,
            &workspace_root().join(format!("tests/crds/{f}.yaml")),
        )
        .await?;
    }
    Ok(())
}

/// The stand-ins for Tekton's tekton.dev API.
pub async fn install_tekton_standins(client: &kube::Client) -> anyhow::Result<()> {
    for f in ["tekton-pipelinerun", "tekton-task"] {
        install_crd(
            client,
            &workspace_root().join(format!("tests/crds/{f}.yaml")),
        )
        .await?;
    }
    Ok(())
}

/// Creates a namespace with a unique name derived from `prefix`.
pub async fn create_namespace(client: &kube::Client, prefix: &str) -> anyhow::Result<String> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let api: Api<Namespace> = Api::all(client.clone());
    api.create(
        &PostParams::default(),
        &Namespace {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .await?;
    Ok(name)
}
