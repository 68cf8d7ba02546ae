//! Host bindings generated from `wit/`. Imports are async so Kubernetes calls
//! await on the operator's runtime instead of blocking a worker thread.

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "build-strategy",
    imports: { default: async },
    exports: { default: async },
});
