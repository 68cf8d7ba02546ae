//! Git resolution and dependency tiers for image builds.
