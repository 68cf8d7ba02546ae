# The two front-door commands are `make demo` and `make test`; each installs
# what it needs on a fresh machine (see README.md). Everything built is cached
# under $NBV_CACHE (default ~/.cache/nbv) so later runs and fresh clones reuse it.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
ENV := source scripts/env.sh
# The WebAssembly guest crates: not default members (they target wasm32-wasip2),
# linted for that target and unit-tested natively.
GUESTS := -p nbv-guest-sdk -p nbv-strategy-s2i -p nbv-strategy-tekton -p nbv-strategy-kaniko -p nbv-fixture-hostile

.PHONY: demo test setup setup-rust setup-python setup-controlplane crds fmt lint bench-scale

## Validate the embedded demo notebook on a real local kernel (no cluster needed).
demo: setup-python
	$(ENV) && cargo run --quiet -p nbv --no-default-features --bin nbv -- run

## The whole suite: formatting, lints, unit, integration and end-to-end tests.
test: setup
	$(ENV) && cargo fmt --all --check
	$(ENV) && export NBV_CONTROLPLANE_BIN="$$(scripts/controlplane.sh | tail -n 1)" && \
		cargo clippy --all-targets -- -D warnings && \
		cargo clippy --target wasm32-wasip2 $(GUESTS) -- -D warnings && \
		cargo test --no-fail-fast && \
		cargo test --no-fail-fast $(GUESTS)

setup: setup-rust setup-python setup-controlplane

setup-rust:
	scripts/setup-rust.sh

setup-python:
	scripts/setup-python.sh

setup-controlplane:
	scripts/controlplane.sh >/dev/null

## Regenerate the CRD under deploy/ from the Rust types.
crds:
	$(ENV) && cargo run --quiet -p nbv --bin crdgen -- deploy/crds/mlops.mlops.dev_notebookvalidationjobs.yaml

fmt:
	$(ENV) && cargo fmt --all

lint:
	$(ENV) && cargo clippy --all-targets -- -D warnings && \
		cargo clippy --target wasm32-wasip2 $(GUESTS) -- -D warnings

## 1000 jobs at once on the real apiserver: time to every validation pod, operator peak RSS.
bench-scale: setup
	$(ENV) && export NBV_CONTROLPLANE_BIN="$$(scripts/controlplane.sh | tail -n 1)" && \
		cargo bench -p nbv-tests --bench scale
