//! The official build strategies, embedded in the operator binary. The bytes
//! are the components `build.rs` compiled from `strategies/`; the runtime
//! verifies and pins them by digest like any other source.

/// (name, component bytes) of every built-in strategy.
pub const STRATEGIES: &[(&str, &[u8])] = &[
    ("s2i", include_bytes!(env!("NBV_WASM_NBV_STRATEGY_S2I"))),
    (
        "tekton",
        include_bytes!(env!("NBV_WASM_NBV_STRATEGY_TEKTON")),
    ),
    (
        "kaniko",
        include_bytes!(env!("NBV_WASM_NBV_STRATEGY_KANIKO")),
    ),
];

/// The misbehaving strategy of `tests/fixtures/hostile`, for sandbox tests.
#[cfg(feature = "fixtures")]
pub const HOSTILE: &[u8] = include_bytes!(env!("NBV_WASM_NBV_FIXTURE_HOSTILE"));
