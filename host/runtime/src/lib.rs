//! The strategy runtime: loads build-strategy components and runs them in a sandbox.
