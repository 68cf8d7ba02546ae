//! Where strategies come from (built into the binary, a ConfigMap, an OCI
//! registry by digest) and the [`Registry`] that serves them by name.
//!
//! Registration convention (documented in deploy/README.md): a ConfigMap in
//! the operator's namespace labelled `nbv.mlops.dev/strategy=<name>` holding
//! either `binaryData["strategy.wasm"]` or `data["oci"] = "repo@sha256:..."`,
//! with optional annotations `nbv.mlops.dev/digest` (pins the wasm bytes),
//! `nbv.mlops.dev/memory-limit` (e.g. `64Mi`) and `nbv.mlops.dev/deadline`
//! (e.g. `30s`).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;

use crate::{Limits, Runtime, RuntimeError, Strategy};

pub const STRATEGY_LABEL: &str = "nbv.mlops.dev/strategy";
pub const DIGEST_ANNOTATION: &str = "nbv.mlops.dev/digest";
pub const MEMORY_ANNOTATION: &str = "nbv.mlops.dev/memory-limit";
pub const DEADLINE_ANNOTATION: &str = "nbv.mlops.dev/deadline";
pub const WASM_KEY: &str = "strategy.wasm";
pub const OCI_KEY: &str = "oci";
pub const WASM_CONFIG_MEDIA_TYPE: &str = "application/vnd.wasm.config.v0+json";
pub const WASM_LAYER_MEDIA_TYPE: &str = "application/wasm";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    BuiltIn,
    ConfigMap { namespace: String, name: String },
    Oci { reference: String },
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::BuiltIn => f.write_str("built-in"),
            Source::ConfigMap { namespace, name } => write!(f, "ConfigMap {namespace}/{name}"),
            Source::Oci { reference } => write!(f, "oci://{reference}"),
        }
    }
}

/// What a registration ConfigMap asks for.
#[derive(Clone, Debug, PartialEq)]
pub struct Registration {
    pub name: String,
    pub payload: Payload,
    /// Pins the wasm bytes (required for nothing, checked when present).
    pub digest: Option<String>,
    pub limits: Limits,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Payload {
    Wasm(Vec<u8>),
    Oci(String),
}

/// Reads a registration ConfigMap; the error says what to fix.
pub fn registration(cm: &ConfigMap) -> Result<Registration, String> {
    let meta = &cm.metadata;
    let who = format!(
        "ConfigMap {}/{}",
        meta.namespace.as_deref().unwrap_or_default(),
        meta.name.as_deref().unwrap_or_default()
    );
    let name = meta
        .labels
        .as_ref()
        .and_then(|l| l.get(STRATEGY_LABEL))
        .filter(|n| !n.is_empty())
        .cloned()
        .ok_or_else(|| format!("{who}: label {STRATEGY_LABEL}=<strategy name> is missing"))?;
    let annotations = meta.annotations.clone().unwrap_or_default();
    let mut limits = Limits::default();
    if let Some(m) = annotations.get(MEMORY_ANNOTATION) {
        limits.memory_bytes =
            parse_memory(m).map_err(|e| format!("{who}: {MEMORY_ANNOTATION}: {e}"))?;
    }
    if let Some(d) = annotations.get(DEADLINE_ANNOTATION) {
        limits.deadline =
            parse_deadline(d).map_err(|e| format!("{who}: {DEADLINE_ANNOTATION}: {e}"))?;
    }
    let digest = annotations.get(DIGEST_ANNOTATION).cloned();
    if let Some(d) = &digest
        && !is_sha256(d)
    {
        return Err(format!(
            "{who}: {DIGEST_ANNOTATION} must be sha256:<64 hex digits>, got {d:?}"
        ));
    }
    let wasm = cm.binary_data.as_ref().and_then(|b| b.get(WASM_KEY));
    let oci = cm.data.as_ref().and_then(|d| d.get(OCI_KEY));
    let payload = match (wasm, oci) {
        (Some(bytes), None) => Payload::Wasm(bytes.0.clone()),
        (None, Some(reference)) => Payload::Oci(reference.trim().to_string()),
        (Some(_), Some(_)) => {
            return Err(format!(
                "{who}: set either binaryData.{WASM_KEY} or data.{OCI_KEY}, not both"
            ));
        }
        (None, None) => {
            return Err(format!(
                "{who}: needs binaryData.{WASM_KEY} (the component) or data.{OCI_KEY} (registry/repo@sha256:...)"
            ));
        }
    };
    Ok(Registration {
        name,
        payload,
        digest,
        limits,
    })
}

fn is_sha256(d: &str) -> bool {
    d.strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `64Mi`, `1Gi`, `500Ki` or plain bytes; at most 4Gi (a 32-bit guest's reach).
pub fn parse_memory(text: &str) -> Result<usize, String> {
    let t = text.trim();
    let (digits, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a size like 64Mi"))?;
    let scale: u64 = match unit {
        "" => 1,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        _ => return Err(format!("{text:?}: use a Ki, Mi or Gi suffix")),
    };
    let bytes = n
        .checked_mul(scale)
        .filter(|b| (1 << 20..=4 << 30).contains(b));
    bytes
        .map(|b| b as usize)
        .ok_or_else(|| format!("{text:?} must be between 1Mi and 4Gi"))
}

/// `500ms`, `30s`, `2m`; between 10ms and 10m.
pub fn parse_deadline(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (digits, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 30s"))?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        _ => return Err(format!("{text:?}: use an ms, s or m suffix")),
    };
    if !(Duration::from_millis(10)..=Duration::from_secs(600)).contains(&d) {
        return Err(format!("{text:?} must be between 10ms and 10m"));
    }
    Ok(d)
}

/// Pulls a wasm component published as a CNCF wasm OCI artifact. Only
/// digest references are accepted: a tag could change under running jobs.
/// Registries (`host:port`) in `insecure` are spoken to over plain HTTP.
pub async fn fetch_oci(reference: &str, insecure: &[String]) -> Result<Vec<u8>, RuntimeError> {
    let fail = |message: String| RuntimeError::Load {
        name: String::new(),
        source_desc: format!("oci://{reference}"),
        message,
    };
    let parsed: oci_client::Reference = reference
        .parse()
        .map_err(|e| fail(format!("not an image reference: {e}")))?;
    let pinned = parsed.digest().map(str::to_string).ok_or_else(|| {
        fail("pin the strategy by digest (registry/repo@sha256:...), not by tag".into())
    })?;
    let protocol = if insecure.is_empty() {
        oci_client::client::ClientProtocol::Https
    } else {
        oci_client::client::ClientProtocol::HttpsExcept(insecure.to_vec())
    };
    let client = oci_client::Client::new(oci_client::client::ClientConfig {
        protocol,
        ..Default::default()
    });
    let image = client
        .pull(
            &parsed,
            &oci_client::secrets::RegistryAuth::Anonymous,
            vec![WASM_LAYER_MEDIA_TYPE],
        )
        .await
        .map_err(|e| fail(format!("pull failed: {e}")))?;
    if let Some(got) = &image.digest
        && *got != pinned
    {
        return Err(fail(format!(
            "registry served manifest {got}, expected {pinned}"
        )));
    }
    let layers: Vec<(&str, &[u8])> = image
        .layers
        .iter()
        .map(|l| (l.media_type.as_str(), l.data.as_ref()))
        .collect();
    wasm_artifact(&image.config.media_type, &layers)
        .map(<[u8]>::to_vec)
        .map_err(fail)
}

/// Checks the CNCF wasm artifact layout: the wasm config media type and
/// exactly one `application/wasm` layer.
pub fn wasm_artifact<'a>(
    config_media_type: &str,
    layers: &[(&str, &'a [u8])],
) -> Result<&'a [u8], String> {
    if config_media_type != WASM_CONFIG_MEDIA_TYPE {
        return Err(format!(
            "config media type is {config_media_type:?}, expected {WASM_CONFIG_MEDIA_TYPE:?} (push it as a wasm artifact, e.g. `wkg oci push`)"
        ));
    }
    match layers {
        [(media, bytes)] if *media == WASM_LAYER_MEDIA_TYPE => Ok(bytes),
        _ => Err(format!(
            "expected exactly one {WASM_LAYER_MEDIA_TYPE} layer, found {:?}",
            layers.iter().map(|(m, _)| *m).collect::<Vec<_>>()
        )),
    }
}

/// The strategies this operator serves: one current version per name, plus
/// every version loaded since start by digest, so a job that started on a
/// version keeps using it after an upgrade.
pub struct Registry {
    runtime: Runtime,
    insecure_registries: Vec<String>,
    current: RwLock<BTreeMap<String, (Arc<Strategy>, Source)>>,
    by_digest: RwLock<HashMap<String, Arc<Strategy>>>,
    failures: RwLock<BTreeMap<String, String>>,
}

impl Registry {
    pub fn new(runtime: Runtime) -> Self {
        Registry {
            runtime,
            insecure_registries: Vec::new(),
            current: RwLock::default(),
            by_digest: RwLock::default(),
            failures: RwLock::default(),
        }
    }

    /// Registries (`host:port`) to pull strategies from over plain HTTP.
    pub fn with_insecure_registries(mut self, registries: Vec<String>) -> Self {
        self.insecure_registries = registries;
        self
    }

    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// Loads `bytes` as strategy `name`. If it fails, the version already
    /// serving (if any) keeps serving and the failure is remembered.
    pub async fn register(
        &self,
        name: &str,
        source: Source,
        bytes: &[u8],
        digest: Option<&str>,
        limits: Limits,
    ) -> Result<Arc<Strategy>, RuntimeError> {
        let loaded = Strategy::load(&self.runtime, bytes, digest, limits)
            .await
            .and_then(|s| {
                if s.name == name {
                    Ok(s)
                } else {
                    Err(RuntimeError::InvalidComponent(format!(
                        "registered as {name:?} but the component calls itself {:?}",
                        s.name
                    )))
                }
            })
            .map_err(|e| RuntimeError::Load {
                name: name.into(),
                source_desc: source.to_string(),
                message: e.to_string(),
            });
        match loaded {
            Ok(s) => {
                tracing::info!(strategy = name, digest = %s.digest, %source, "strategy registered");
                if let Ok(mut d) = self.by_digest.write() {
                    d.insert(s.digest.clone(), s.clone());
                }
                if let Ok(mut c) = self.current.write() {
                    c.insert(name.into(), (s.clone(), source));
                }
                if let Ok(mut f) = self.failures.write() {
                    f.remove(name);
                }
                Ok(s)
            }
            Err(e) => {
                tracing::warn!(
                    strategy = name,
                    "strategy failed to load, previous version (if any) keeps serving: {e}"
                );
                if let Ok(mut f) = self.failures.write() {
                    f.insert(name.into(), e.to_string());
                }
                Err(e)
            }
        }
    }

    /// Loads every built-in; returns the failures (a broken build is a bug,
    /// but one bad strategy must not take the others down).
    pub async fn register_builtins(
        &self,
        builtins: &[(&str, &[u8])],
        limits: Limits,
    ) -> Vec<RuntimeError> {
        let mut errors = Vec::new();
        for (name, bytes) in builtins {
            if let Err(e) = self
                .register(name, Source::BuiltIn, bytes, None, limits)
                .await
            {
                errors.push(e);
            }
        }
        errors
    }

    /// Registers from a ConfigMap (fetching from OCI when it points there).
    pub async fn register_config_map(&self, cm: &ConfigMap) -> Result<Arc<Strategy>, RuntimeError> {
        let source = Source::ConfigMap {
            namespace: cm.metadata.namespace.clone().unwrap_or_default(),
            name: cm.metadata.name.clone().unwrap_or_default(),
        };
        let reg = registration(cm).map_err(|message| RuntimeError::Load {
            name: String::new(),
            source_desc: source.to_string(),
            message,
        })?;
        match &reg.payload {
            Payload::Wasm(bytes) => {
                self.register(&reg.name, source, bytes, reg.digest.as_deref(), reg.limits)
                    .await
            }
            Payload::Oci(reference) => {
                let bytes = match fetch_oci(reference, &self.insecure_registries).await {
                    Ok(b) => b,
                    Err(e) => {
                        if let Ok(mut f) = self.failures.write() {
                            f.insert(reg.name.clone(), e.to_string());
                        }
                        return Err(e);
                    }
                };
                let oci = Source::Oci {
                    reference: reference.clone(),
                };
                self.register(&reg.name, oci, &bytes, reg.digest.as_deref(), reg.limits)
                    .await
            }
        }
    }

    /// Stops serving `name` for new jobs (its ConfigMap was deleted). Jobs
    /// pinned to its digest keep it.
    pub fn unregister(&self, name: &str) {
        if let Ok(mut c) = self.current.write() {
            c.remove(name);
        }
    }

    pub fn get(&self, name: &str) -> Option<Arc<Strategy>> {
        self.current.read().ok()?.get(name).map(|(s, _)| s.clone())
    }

    /// The exact version a job started with.
    pub fn pinned(&self, digest: &str) -> Option<Arc<Strategy>> {
        self.by_digest.read().ok()?.get(digest).cloned()
    }

    /// Strategies in registration order of name: (name, digest, source).
    pub fn list(&self) -> Vec<(String, String, String)> {
        self.current
            .read()
            .map(|c| {
                c.iter()
                    .map(|(n, (s, src))| (n.clone(), s.digest.clone(), src.to_string()))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn names(&self) -> Vec<String> {
        self.list().into_iter().map(|(n, _, _)| n).collect()
    }

    /// The last load error per strategy name that is not currently loaded fine.
    pub fn failures(&self) -> BTreeMap<String, String> {
        self.failures.read().map(|f| f.clone()).unwrap_or_default()
    }

    /// What to tell a job asking for `name`: the strategies served, and why
    /// `name` is not among them if its registration failed to load.
    pub fn available(&self, name: &str) -> String {
        let mut available = self.names().join(", ");
        if available.is_empty() {
            available = "none".into();
        }
        if let Some(why) = self.failures().get(name) {
            available = format!("{available}; {name} failed to load: {why}");
        }
        available
    }

    /// The error for a job naming a strategy this operator does not serve.
    pub fn unknown(&self, name: &str) -> RuntimeError {
        RuntimeError::Unknown {
            name: name.into(),
            available: self.available(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::ByteString;

    fn cm(
        labels: &[(&str, &str)],
        annotations: &[(&str, &str)],
        wasm: Option<&[u8]>,
        oci: Option<&str>,
    ) -> ConfigMap {
        let map = |kv: &[(&str, &str)]| {
            Some(
                kv.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        };
        ConfigMap {
            metadata: kube::api::ObjectMeta {
                name: Some("custom".into()),
                namespace: Some("nbv-system".into()),
                labels: map(labels),
                annotations: map(annotations),
                ..Default::default()
            },
            binary_data: wasm
                .map(|b| BTreeMap::from([(WASM_KEY.to_string(), ByteString(b.to_vec()))])),
            data: oci.map(|r| BTreeMap::from([(OCI_KEY.to_string(), r.to_string())])),
            ..Default::default()
        }
    }

    #[test]
    fn registrations_read_the_convention_and_say_what_is_missing() {
        let r = registration(&cm(
            &[(STRATEGY_LABEL, "custom")],
            &[(MEMORY_ANNOTATION, "16Mi"), (DEADLINE_ANNOTATION, "2s")],
            Some(b"\0asm"),
            None,
        ))
        .expect("valid");
        assert_eq!(r.name, "custom");
        assert_eq!(r.limits.memory_bytes, 16 << 20);
        assert_eq!(r.limits.deadline, Duration::from_secs(2));
        assert_eq!(r.payload, Payload::Wasm(b"\0asm".to_vec()));
        let e = registration(&cm(&[], &[], Some(b"x"), None)).expect_err("no label");
        assert!(e.contains(STRATEGY_LABEL), "{e}");
        let e = registration(&cm(&[(STRATEGY_LABEL, "c")], &[], None, None)).expect_err("empty");
        assert!(e.contains(WASM_KEY) && e.contains(OCI_KEY), "{e}");
        let e = registration(&cm(
            &[(STRATEGY_LABEL, "c")],
            &[(DIGEST_ANNOTATION, "md5:1")],
            Some(b"x"),
            None,
        ))
        .expect_err("digest");
        assert!(e.contains("sha256"), "{e}");
        let e = registration(&cm(
            &[(STRATEGY_LABEL, "c")],
            &[(MEMORY_ANNOTATION, "64MB")],
            Some(b"x"),
            None,
        ))
        .expect_err("unit");
        assert!(e.contains("Mi"), "{e}");
    }

    #[test]
    fn limits_parse_within_bounds() {
        assert_eq!(parse_memory("1Gi"), Ok(1 << 30));
        assert!(parse_memory("1Ki").is_err());
        assert!(parse_memory("8Gi").is_err());
        assert_eq!(parse_deadline("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_deadline("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_deadline("1h").is_err());
        assert!(parse_deadline("0s").is_err());
    }

    #[test]
    fn only_the_cncf_wasm_layout_is_accepted() {
        let wasm: &[u8] = b"\0asm\x0d\0\x01\0";
        assert_eq!(
            wasm_artifact(WASM_CONFIG_MEDIA_TYPE, &[(WASM_LAYER_MEDIA_TYPE, wasm)]),
            Ok(wasm)
        );
        let e = wasm_artifact(
            "application/vnd.oci.image.config.v1+json",
            &[(WASM_LAYER_MEDIA_TYPE, wasm)],
        )
        .expect_err("image config");
        assert!(e.contains(WASM_CONFIG_MEDIA_TYPE), "{e}");
        assert!(wasm_artifact(WASM_CONFIG_MEDIA_TYPE, &[]).is_err());
        assert!(
            wasm_artifact(
                WASM_CONFIG_MEDIA_TYPE,
                &[(WASM_LAYER_MEDIA_TYPE, wasm), (WASM_LAYER_MEDIA_TYPE, wasm)]
            )
            .is_err()
        );
    }

    #[tokio::test]
    async fn tags_are_refused_before_any_network_call() {
        let e = fetch_oci("ghcr.io/example/strategy:latest", &[])
            .await
            .expect_err("tag");
        assert!(e.to_string().contains("pin the strategy by digest"), "{e}");
    }
}
