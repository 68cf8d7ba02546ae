//! Typed access to the JSON objects that cross the `k8s` interface.

use crate::Error;
use serde_json::Value;

/// A Kubernetes object as JSON, with helpers for the fields strategies read.
#[derive(Clone, Debug, PartialEq)]
pub struct Object(pub Value);

impl Object {
    pub fn parse(json: &str) -> Result<Self, Error> {
        serde_json::from_str(json)
            .map(Object)
            .map_err(|e| Error::Invalid(format!("object from the host is not JSON: {e}")))
    }
    /// The value at a JSON pointer, e.g. `/status/phase`.
    pub fn at(&self, pointer: &str) -> Option<&Value> {
        self.0.pointer(pointer)
    }
    pub fn str_at(&self, pointer: &str) -> Option<&str> {
        self.at(pointer).and_then(Value::as_str)
    }
    pub fn name(&self) -> &str {
        self.str_at("/metadata/name").unwrap_or_default()
    }
    /// The condition of `type` from `/status/conditions`, as (status, reason, message).
    pub fn condition(&self, kind: &str) -> Option<(String, String, String)> {
        let conditions = self.at("/status/conditions")?.as_array()?;
        let c = conditions
            .iter()
            .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))?;
        let field = |k: &str| {
            c.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        Some((field("status"), field("reason"), field("message")))
    }
    pub fn to_json(&self) -> String {
        self.0.to_string()
    }
}

/// Applies a manifest through the host and returns the object the server kept.
pub fn apply(manifest: &Value) -> Result<Object, Error> {
    let applied = crate::k8s::apply(&manifest.to_string())?;
    Object::parse(&applied)
}

/// Gets an object this strategy created, if it exists.
pub fn get(api_version: &str, kind: &str, name: &str) -> Result<Option<Object>, Error> {
    match crate::k8s::get(api_version, kind, name)? {
        Some(json) => Object::parse(&json).map(Some),
        None => Ok(None),
    }
}

/// A label selector string from pairs.
pub fn labels_selector(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}
