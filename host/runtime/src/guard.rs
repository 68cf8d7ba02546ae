//! The sandbox rules for every Kubernetes call a strategy makes. Pure logic, so
//! every rule is unit-tested without a cluster; [`crate::host`] applies them
//! before anything reaches [`crate::cluster`].

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::{ApiKind, GuestError};

pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const MANAGER: &str = "nbv";
pub const JOB: &str = "nbv.mlops.dev/job";
pub const STRATEGY: &str = "nbv.mlops.dev/strategy";
pub const DIGEST_ANNOTATION: &str = "nbv.mlops.dev/strategy-digest";

/// The `nbv.mlops.dev/job` label value for a job: the name itself when it
/// fits a label (≤ 63 characters), else a prefix plus a hash of the full
/// name, so long job names still get unique, valid labels.
pub fn job_label_value(name: &str) -> String {
    if name.len() <= 63 {
        return name.to_string();
    }
    let hash = hex::encode(ring::digest::digest(&ring::digest::SHA256, name.as_bytes()));
    let prefix: String = name.chars().take(50).collect();
    let prefix = prefix.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
    format!("{prefix}-{}", &hash[..12])
}

/// The job a strategy call works for: the owner of everything it creates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRef {
    pub name: String,
    pub namespace: String,
    pub uid: String,
    pub api_version: String,
    pub kind: String,
}

impl JobRef {
    pub fn new(name: &str, namespace: &str, uid: &str) -> Self {
        JobRef {
            name: name.into(),
            namespace: namespace.into(),
            uid: uid.into(),
            api_version: "mlops.mlops.dev/v1alpha1".into(),
            kind: "NotebookValidationJob".into(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Guard {
    job: JobRef,
    strategy: String,
    digest: String,
    kinds: Vec<ApiKind>,
}

/// What [`Guard::stamp`] lets through: the declared kind, the object's name and
/// the manifest as it will be applied.
#[derive(Debug)]
pub struct Stamped {
    pub kind: ApiKind,
    pub name: String,
    pub manifest: Value,
}

impl Guard {
    pub fn new(job: JobRef, strategy: &str, digest: &str, kinds: Vec<ApiKind>) -> Self {
        Guard {
            job,
            strategy: strategy.into(),
            digest: digest.into(),
            kinds,
        }
    }

    pub fn job(&self) -> &JobRef {
        &self.job
    }

    pub fn strategy(&self) -> &str {
        &self.strategy
    }

    /// The field manager for server-side apply: one per strategy.
    pub fn field_manager(&self) -> String {
        format!("nbv-strategy-{}", self.strategy)
    }

    /// Labels the host puts on everything a strategy creates.
    pub fn labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (MANAGED_BY.to_string(), MANAGER.to_string()),
            (JOB.to_string(), job_label_value(&self.job.name)),
            (STRATEGY.to_string(), self.strategy.clone()),
        ])
    }

    /// The declared kind for `api_version`/`kind`, or a denial naming what was declared.
    pub fn kind(&self, api_version: &str, kind: &str) -> Result<&ApiKind, GuestError> {
        self.kinds
            .iter()
            .find(|k| api_version_of(k) == api_version && k.kind == kind)
            .ok_or_else(|| {
                let declared: Vec<String> = self
                    .kinds
                    .iter()
                    .map(|k| format!("{}/{}", api_version_of(k), k.kind))
                    .collect();
                GuestError::Denied(format!(
                    "kind {api_version}/{kind} was not declared by strategy {} (declared: {}); add it to describe().kinds",
                    self.strategy,
                    if declared.is_empty() { "none".into() } else { declared.join(", ") }
                ))
            })
    }

    /// The selector `list` uses: the caller's, narrowed to this job and strategy.
    pub fn selector(&self, extra: &str) -> String {
        let mut parts: Vec<String> = self
            .labels()
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let extra = extra.trim();
        if !extra.is_empty() {
            parts.push(extra.to_string());
        }
        parts.join(",")
    }

    /// Whether `object` was created by this strategy for this job.
    pub fn owns(&self, object: &Value) -> bool {
        let labels = object.pointer("/metadata/labels");
        self.labels()
            .iter()
            .all(|(k, v)| labels.and_then(|l| l.get(k)).and_then(Value::as_str) == Some(v.as_str()))
            && object
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .is_none_or(|ns| ns == self.job.namespace)
    }

    /// Checks a manifest the strategy wants applied and stamps the namespace,
    /// labels, digest annotation and the owner reference to the job onto it.
    pub fn stamp(&self, manifest: &str) -> Result<Stamped, GuestError> {
        let mut value: Value = serde_json::from_str(manifest)
            .map_err(|e| GuestError::Invalid(format!("manifest is not JSON: {e}")))?;
        let text = |v: &Value, pointer: &str| {
            v.pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| GuestError::Invalid(format!("manifest has no {pointer}")))
        };
        let api_version = text(&value, "/apiVersion")?;
        let kind_name = text(&value, "/kind")?;
        let name = text(&value, "/metadata/name")?;
        let kind = self.kind(&api_version, &kind_name)?.clone();
        if let Some(ns) = value.pointer("/metadata/namespace").and_then(Value::as_str)
            && ns != self.job.namespace
        {
            return Err(GuestError::Denied(format!(
                "{kind_name} {name} targets namespace {ns:?}; strategy {} may only create objects in the job's namespace {:?}",
                self.strategy, self.job.namespace
            )));
        }
        if value.pointer("/metadata/ownerReferences").is_some() {
            return Err(GuestError::Denied(format!(
                "{kind_name} {name} sets ownerReferences; the host sets them (to the job) itself"
            )));
        }
        let metadata = value
            .get_mut("metadata")
            .and_then(Value::as_object_mut)
            .ok_or_else(|| GuestError::Invalid("manifest metadata is not an object".into()))?;
        metadata.insert("namespace".into(), json!(self.job.namespace));
        let labels = metadata
            .entry("labels")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .ok_or_else(|| GuestError::Invalid("metadata.labels is not an object".into()))?;
        for (k, v) in self.labels() {
            labels.insert(k, json!(v));
        }
        let annotations = metadata
            .entry("annotations")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .ok_or_else(|| GuestError::Invalid("metadata.annotations is not an object".into()))?;
        annotations.insert(DIGEST_ANNOTATION.into(), json!(self.digest));
        metadata.insert(
            "ownerReferences".into(),
            json!([{
                "apiVersion": self.job.api_version,
                "kind": self.job.kind,
                "name": self.job.name,
                "uid": self.job.uid,
                "controller": true,
                "blockOwnerDeletion": true,
            }]),
        );
        Ok(Stamped {
            kind,
            name,
            manifest: value,
        })
    }
}

/// `group/version`, or `version` for the core group.
pub fn api_version_of(kind: &ApiKind) -> String {
    if kind.group.is_empty() {
        kind.version.clone()
    } else {
        format!("{}/{}", kind.group, kind.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard() -> Guard {
        Guard::new(
            JobRef::new("job-a", "team-a", "uid-1"),
            "s2i",
            "sha256:abc",
            vec![
                ApiKind {
                    group: String::new(),
                    version: "v1".into(),
                    kind: "ConfigMap".into(),
                    plural: "configmaps".into(),
                },
                ApiKind {
                    group: "build.openshift.io".into(),
                    version: "v1".into(),
                    kind: "BuildConfig".into(),
                    plural: "buildconfigs".into(),
                },
            ],
        )
    }

    #[test]
    fn stamping_sets_namespace_labels_owner_and_digest() {
        let s = guard()
            .stamp(r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","labels":{"mine":"1","nbv.mlops.dev/job":"forged"}}}"#)
            .expect("allowed");
        let m = &s.manifest;
        assert_eq!(m["metadata"]["namespace"], "team-a");
        assert_eq!(m["metadata"]["labels"]["mine"], "1");
        assert_eq!(
            m["metadata"]["labels"][JOB], "job-a",
            "forged label replaced"
        );
        assert_eq!(m["metadata"]["labels"][STRATEGY], "s2i");
        assert_eq!(
            m["metadata"]["annotations"][DIGEST_ANNOTATION],
            "sha256:abc"
        );
        assert_eq!(m["metadata"]["ownerReferences"][0]["uid"], "uid-1");
        assert_eq!(
            m["metadata"]["ownerReferences"][0]["kind"],
            "NotebookValidationJob"
        );
        assert!(guard().owns(m));
    }

    #[test]
    fn other_namespaces_undeclared_kinds_and_forged_owners_are_denied() {
        let g = guard();
        let denied = |m: &str| match g.stamp(m) {
            Err(GuestError::Denied(msg)) => msg,
            other => panic!("expected a denial, got {other:?}"),
        };
        let msg = denied(
            r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","namespace":"kube-system"}}"#,
        );
        assert!(
            msg.contains("kube-system") && msg.contains("team-a"),
            "{msg}"
        );
        let msg = denied(r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"}}"#);
        assert!(
            msg.contains("v1/Secret") && msg.contains("v1/ConfigMap"),
            "{msg}"
        );
        // Same kind name in another group is still another kind.
        denied(r#"{"apiVersion":"example.com/v1","kind":"ConfigMap","metadata":{"name":"x"}}"#);
        denied(
            r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","ownerReferences":[]}}"#,
        );
        // The same namespace, spelled out, is fine.
        g.stamp(r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","namespace":"team-a"}}"#)
            .expect("own namespace");
    }

    #[test]
    fn long_job_names_get_valid_unique_label_values() {
        let long_a = format!("{}-a", "x".repeat(80));
        let long_b = format!("{}-b", "x".repeat(80));
        for v in [job_label_value(&long_a), job_label_value(&long_b)] {
            assert!(v.len() <= 63 && v.starts_with("xxx"), "{v}");
        }
        assert_ne!(job_label_value(&long_a), job_label_value(&long_b));
        assert_eq!(job_label_value("short.name"), "short.name");
    }

    #[test]
    fn malformed_manifests_are_invalid_not_denied() {
        for m in [
            "not json",
            r#"{"kind":"ConfigMap"}"#,
            r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{}}"#,
        ] {
            assert!(
                matches!(guard().stamp(m), Err(GuestError::Invalid(_))),
                "{m}"
            );
        }
    }

    #[test]
    fn ownership_needs_every_label_and_the_namespace() {
        let g = guard();
        let obj =
            |labels: Value, ns: &str| json!({"metadata": {"namespace": ns, "labels": labels}});
        let mine = json!({MANAGED_BY: MANAGER, JOB: "job-a", STRATEGY: "s2i"});
        assert!(g.owns(&obj(mine.clone(), "team-a")));
        assert!(!g.owns(&obj(mine, "team-b")));
        assert!(!g.owns(&obj(
            json!({MANAGED_BY: MANAGER, JOB: "job-b", STRATEGY: "s2i"}),
            "team-a"
        )));
        assert!(!g.owns(&obj(
            json!({MANAGED_BY: MANAGER, JOB: "job-a", STRATEGY: "tekton"}),
            "team-a"
        )));
        assert!(!g.owns(&json!({"metadata": {"name": "x"}})));
        assert_eq!(
            g.selector("tekton.dev/pipelineRun=b"),
            "app.kubernetes.io/managed-by=nbv,nbv.mlops.dev/job=job-a,nbv.mlops.dev/strategy=s2i,tekton.dev/pipelineRun=b"
        );
    }
}
