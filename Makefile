# The front door. `make demo` runs the main job; `make test` verifies everything; `make bench` measures.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: all build test lint fmt-check clippy unit demo bench clean

all: build

build:
	$(CARGO) build --workspace --release

# Everything that verifies the project. CI runs exactly this (see .ci/run).
test: fmt-check clippy unit

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

unit:
	$(CARGO) test --workspace

# Until the state machines land: show what the example configs ask EMR to do.
demo:
	$(CARGO) build --release -p dfr-cli
	./target/release/dataflow-runner validate --emr-config examples/spark/cluster.json --emr-playbook examples/spark/playbook.json --vars-file examples/spark/vars.json
	./target/release/dataflow-runner plan --transient --emr-config examples/spark/cluster.json --emr-playbook examples/spark/playbook.json --vars-file examples/spark/vars.json

clean:
	$(CARGO) clean
