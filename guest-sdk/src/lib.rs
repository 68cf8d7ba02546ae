//! Write an nbv build strategy in an afternoon.
//!
//! A strategy is a type implementing [`Strategy`], exported with
//! [`export_strategy!`] and built with `cargo build --target wasm32-wasip2`.
//! Every call runs in a fresh instance, so a strategy keeps no state: what it
//! needs later it finds again in the cluster by the build name it returned.
//!
//! ```ignore
//! use nbv_guest_sdk::prelude::*;
//!
//! struct Hello;
//! impl Strategy for Hello {
//!     fn describe() -> Description { Description::new("hello", "Says hello").kind(ApiKind::core("v1", "ConfigMap", "configmaps")) }
//!     fn detect() -> bool { true }
//!     fn create_build() -> Result<String, Error> { /* k8s::apply(...) */ Ok(build::context().build_name) }
//!     fn build_status(_: String) -> Result<BuildState, Error> { Ok(BuildState::complete("done")) }
//!     fn built_image(_: String) -> Result<String, Error> { Err(Error::Other("no image".into())) }
//!     fn delete_build(_: String) -> Result<(), Error> { Ok(()) }
//! }
//! export_strategy!(Hello);
//! ```

pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "build-strategy",
        pub_export_macro: true,
        default_bindings_module: "nbv_guest_sdk::bindings",
        export_macro_name: "export",
        generate_all,
    });
}

pub mod manifest;
pub mod recipes;
pub mod testing;

pub use bindings::nbv::build::types::{
    ApiKind, BuildContext, BuildPhase, BuildState, Description, Error, Parameter, RequirementsTier,
};
pub use bindings::nbv::build::{build, events, k8s, log};

/// The commonly needed names in one import.
pub mod prelude {
    pub use crate::manifest::{Object, labels_selector};
    pub use crate::{
        ApiKind, BuildContext, BuildPhase, BuildState, Description, Error, Parameter,
        RequirementsTier, Strategy, build, events, export_strategy, k8s, log, param,
    };
}

/// What a build strategy implements. `name` defaults to the description's name.
pub trait Strategy {
    fn describe() -> Description;
    fn name() -> String {
        Self::describe().name
    }
    /// Whether the cluster can run this strategy (usually: an API group exists).
    fn detect() -> bool;
    /// Creates the build objects, or adopts them when they already exist
    /// (the host may call this again after an operator restart).
    fn create_build() -> Result<String, Error>;
    fn build_status(build: String) -> Result<BuildState, Error>;
    /// The pushed image pinned by digest, `registry/repo@sha256:...`.
    fn built_image(build: String) -> Result<String, Error>;
    fn logs(build: String) -> Result<Vec<String>, Error> {
        let _ = build;
        Ok(Vec::new())
    }
    fn delete_build(build: String) -> Result<(), Error>;
}

/// Exports a [`Strategy`] implementation as the component's `strategy` interface.
#[macro_export]
macro_rules! export_strategy {
    ($ty:ident) => {
        impl $crate::bindings::exports::nbv::build::strategy::Guest for $ty {
            fn name() -> String {
                <$ty as $crate::Strategy>::name()
            }
            fn describe() -> $crate::Description {
                <$ty as $crate::Strategy>::describe()
            }
            fn detect() -> bool {
                <$ty as $crate::Strategy>::detect()
            }
            fn create_build() -> Result<String, $crate::Error> {
                <$ty as $crate::Strategy>::create_build()
            }
            fn build_status(build: String) -> Result<$crate::BuildState, $crate::Error> {
                <$ty as $crate::Strategy>::build_status(build)
            }
            fn built_image(build: String) -> Result<String, $crate::Error> {
                <$ty as $crate::Strategy>::built_image(build)
            }
            fn logs(build: String) -> Result<Vec<String>, $crate::Error> {
                <$ty as $crate::Strategy>::logs(build)
            }
            fn delete_build(build: String) -> Result<(), $crate::Error> {
                <$ty as $crate::Strategy>::delete_build(build)
            }
        }
        $crate::bindings::export!($ty with_types_in $crate::bindings);
    };
}

impl Description {
    pub fn new(name: &str, summary: &str) -> Self {
        Description {
            name: name.into(),
            version: String::new(),
            summary: summary.into(),
            parameters: Vec::new(),
            kinds: Vec::new(),
            requires_groups: Vec::new(),
        }
    }
    pub fn version(mut self, version: &str) -> Self {
        self.version = version.into();
        self
    }
    /// Declares a kind the strategy will touch; the host denies all others.
    pub fn kind(mut self, kind: ApiKind) -> Self {
        self.kinds.push(kind);
        self
    }
    pub fn requires_group(mut self, group: &str) -> Self {
        self.requires_groups.push(group.into());
        self
    }
    /// Declares a `strategyConfig` key; unknown keys are refused before any call.
    pub fn parameter(mut self, name: &str, description: &str, default: Option<&str>) -> Self {
        self.parameters.push(Parameter {
            name: name.into(),
            description: description.into(),
            required: false,
            default_value: default.map(Into::into),
        });
        self
    }
    /// Declares the parameters the push recipes read (`registry`,
    /// `pushSecret`, `insecureRegistry`; see [`recipes::output_image`] and
    /// [`recipes::push_secret_volume`]), for strategies that push an image.
    pub fn push_parameters(self) -> Self {
        self.parameter(
            "registry",
            "repository prefix to push to (<registry>/nbv-notebook:<cache key>); default: the operator's build registry",
            None,
        )
        .parameter(
            "pushSecret",
            "kubernetes.io/dockerconfigjson Secret with credentials for the output registry",
            None,
        )
        .parameter(
            "insecureRegistry",
            "push over plain HTTP / without TLS verification: true or false",
            Some("false"),
        )
    }

    pub fn required_parameter(mut self, name: &str, description: &str) -> Self {
        self.parameters.push(Parameter {
            name: name.into(),
            description: description.into(),
            required: true,
            default_value: None,
        });
        self
    }
}

impl ApiKind {
    pub fn new(group: &str, version: &str, kind: &str, plural: &str) -> Self {
        ApiKind {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            plural: plural.into(),
        }
    }
    /// A kind of the core (`v1`) group.
    pub fn core(version: &str, kind: &str, plural: &str) -> Self {
        Self::new("", version, kind, plural)
    }
    /// `group/version`, or just `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

impl BuildState {
    pub fn new(phase: BuildPhase, message: impl Into<String>) -> Self {
        BuildState {
            phase,
            message: message.into(),
        }
    }
    pub fn pending(message: impl Into<String>) -> Self {
        Self::new(BuildPhase::Pending, message)
    }
    pub fn running(message: impl Into<String>) -> Self {
        Self::new(BuildPhase::Running, message)
    }
    pub fn complete(message: impl Into<String>) -> Self {
        Self::new(BuildPhase::Complete, message)
    }
    pub fn failed(message: impl Into<String>) -> Self {
        Self::new(BuildPhase::Failed, message)
    }
    pub fn cancelled(message: impl Into<String>) -> Self {
        Self::new(BuildPhase::Cancelled, message)
    }
}

/// A `strategyConfig` value, or the declared default.
pub fn param(ctx: &BuildContext, name: &str, default: &str) -> String {
    ctx.parameters
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| default.to_string())
}

/// A pinned image reference from a repository and a digest, as builders report them.
pub fn pin(image: &str, digest: &str) -> Result<String, Error> {
    let digest = digest.trim();
    if !digest.starts_with("sha256:") || digest.len() != 71 {
        return Err(Error::Invalid(format!(
            "builder reported {digest:?}, which is not a sha256 digest"
        )));
    }
    // Drop any tag: a reference is pinned by digest only.
    let repo = match image.rsplit_once('@') {
        Some((repo, _)) => repo,
        None => image,
    };
    let last_slash = repo.rfind('/').map_or(0, |i| i + 1);
    let repo = match repo[last_slash..].rfind(':') {
        Some(colon) => &repo[..last_slash + colon],
        None => repo,
    };
    Ok(format!("{repo}@{digest}"))
}
