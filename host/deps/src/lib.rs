//! Git resolution and dependency tiers for image builds.

pub mod git;
pub mod requirements;
