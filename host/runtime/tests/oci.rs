//! Strategies from an OCI registry: a local distribution endpoint (the OCI
//! distribution API's pull side, over HTTP on loopback) serves the hostile
//! fixture as a CNCF wasm artifact; the runtime pulls it by digest, checks
//! the layout, and registers it from a ConfigMap that points at it.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use k8s_openapi::api::core::v1::ConfigMap;
use nbv_runtime::sources::{
    OCI_KEY, STRATEGY_LABEL, WASM_CONFIG_MEDIA_TYPE, WASM_LAYER_MEDIA_TYPE, fetch_oci,
};
use nbv_runtime::{Registry, Runtime, digest};
use serde_json::json;

const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";

/// Blobs and manifests by digest, for one repository.
#[derive(Default)]
struct Store {
    blobs: BTreeMap<String, (String, Vec<u8>)>,
}

impl Store {
    fn put(&mut self, media_type: &str, bytes: Vec<u8>) -> (String, usize) {
        let d = digest(&bytes);
        let len = bytes.len();
        self.blobs
            .insert(d.clone(), (media_type.to_string(), bytes));
        (d, len)
    }

    /// Publishes `wasm` with the given config media type; returns the manifest digest.
    fn publish(&mut self, wasm: &[u8], config_media_type: &str) -> String {
        let (config, config_len) = self.put(config_media_type, b"{}".to_vec());
        let (layer, layer_len) = self.put(WASM_LAYER_MEDIA_TYPE, wasm.to_vec());
        let manifest = json!({
            "schemaVersion": 2, "mediaType": MANIFEST_TYPE,
            "config": {"mediaType": config_media_type, "digest": config, "size": config_len},
            "layers": [{"mediaType": WASM_LAYER_MEDIA_TYPE, "digest": layer, "size": layer_len}],
        });
        self.put(MANIFEST_TYPE, serde_json::to_vec(&manifest).expect("json"))
            .0
    }
}

async fn blob(
    State(store): State<Arc<Store>>,
    Path((_repo, d)): Path<(String, String)>,
) -> Response {
    match store.blobs.get(&d) {
        Some((media_type, bytes)) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, media_type.clone()),
                ("docker-content-digest".parse().expect("h"), d),
            ],
            bytes.clone(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn serve(store: Store) -> String {
    let app = axum::Router::new()
        .route("/v2/", get(|| async { StatusCode::OK }))
        .route("/v2/{repo}/manifests/{digest}", get(blob))
        .route("/v2/{repo}/blobs/{digest}", get(blob))
        .with_state(Arc::new(store));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr.to_string()
}

#[tokio::test]
async fn strategies_are_pulled_by_digest_and_the_artifact_layout_is_checked() {
    let mut store = Store::default();
    let good = store.publish(nbv_builtin::HOSTILE, WASM_CONFIG_MEDIA_TYPE);
    let image_like = store.publish(
        nbv_builtin::HOSTILE,
        "application/vnd.oci.image.config.v1+json",
    );
    let host = serve(store).await;
    let insecure = vec![host.clone()];

    let bytes = fetch_oci(&format!("{host}/nbv-hostile@{good}"), &insecure)
        .await
        .expect("pull");
    assert_eq!(bytes, nbv_builtin::HOSTILE);

    let err = fetch_oci(&format!("{host}/nbv-hostile@{image_like}"), &insecure)
        .await
        .expect_err("container image config");
    assert!(err.to_string().contains(WASM_CONFIG_MEDIA_TYPE), "{err}");

    let missing = format!("sha256:{}", "ab".repeat(32));
    let err = fetch_oci(&format!("{host}/nbv-hostile@{missing}"), &insecure)
        .await
        .expect_err("unknown digest");
    assert!(err.to_string().contains("pull failed"), "{err}");

    // Without being named insecure, the registry is only spoken to over HTTPS.
    assert!(
        fetch_oci(&format!("{host}/nbv-hostile@{good}"), &[])
            .await
            .is_err()
    );

    // A registration ConfigMap pointing at the artifact loads it.
    let registry =
        Registry::new(Runtime::new(None).expect("runtime")).with_insecure_registries(insecure);
    let cm: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "strategy-hostile", "namespace": "nbv-system",
                     "labels": {STRATEGY_LABEL: "hostile"}},
        "data": {OCI_KEY: format!("{host}/nbv-hostile@{good}")},
    }))
    .expect("cm");
    let loaded = registry.register_config_map(&cm).await.expect("registered");
    assert_eq!(loaded.digest, digest(nbv_builtin::HOSTILE));
    let (name, _, source) = registry.list().into_iter().next().expect("listed");
    assert_eq!(name, "hostile");
    assert!(source.starts_with("oci://"), "{source}");
}
