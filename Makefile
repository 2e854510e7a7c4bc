# The front door. `make demo` runs the main job locally; `make test` verifies everything; `make bench` measures.
# Tools the project needs beyond Rust, Python 3 and Node are installed by these targets into .tools/, .venv/ and
# tests/statemachine/ (pinned: requirements-*.txt, package-lock.json).
SHELL := /bin/bash
CARGO ?= cargo
FUNCTIONS := launch-cluster add-steps check-status terminate-cluster lock event-router reconciler
SM := tests/statemachine
# Lambda architecture for `make package`: arm64 is what infra/template.yaml deploys. `make bench` builds for the
# machine it runs on (LAMBDA_ARCH=host) so it can execute what it measures.
LAMBDA_ARCH ?= arm64
LAMBDA_TOOLS := .tools/venv/.installed
# The Python boto3 check-status that `make bench` measures beside ours (bench/python/).
PY_BENCH := .tools/python-bench/.installed

.PHONY: all build bins test fmt-check clippy unit infra-check statemachine-test docs-check demo bench bench-lambdas \
        bench-statemachine bench-python package clean

all: build

build:
	$(CARGO) build --workspace --release

bins:
	$(CARGO) build --workspace --bins

# Everything that verifies the project. CI runs exactly this (.ci/run).
test: fmt-check clippy unit infra-check statemachine-test docs-check

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# The lock library's tests run against moto's DynamoDB, which tests/statemachine installs.
unit: $(SM)/.venv/.installed
	$(CARGO) test --workspace

infra-check:
	bash infra/check.sh

# The measured figures in the READMEs are generated from bench/results/ and must match them; the results must cover
# every function; a README may state no other measurement (bench/readme.mjs).
docs-check:
	node bench/readme.mjs --check

$(SM)/.venv/.installed: $(SM)/requirements.txt
	sh $(SM)/scripts/setup.sh

# Reinstalled when the lock file or the interpreter patch (applied on install) changes.
$(SM)/node_modules/.package-lock.json: $(SM)/package-lock.json $(SM)/scripts/patch-interpreter.mjs
	npm ci --prefix $(SM) --no-audit --no-fund

statemachine-test: bins $(SM)/.venv/.installed $(SM)/node_modules/.package-lock.json
	npm test --prefix $(SM)

# The main job, locally: run-transient of examples/spark through the real state machine, the real Lambda binaries
# and the EMR emulator; then the failing example, to show what a user sees.
demo: bins $(SM)/.venv/.installed $(SM)/node_modules/.package-lock.json
	npm run demo --prefix $(SM)

$(LAMBDA_TOOLS): requirements-lambda.txt
	python3 -m venv .tools/venv
	.tools/venv/bin/pip install --quiet --disable-pip-version-check -r requirements-lambda.txt
	touch $@

# Release zips, one per function: target/lambda/<function>/bootstrap.zip (what infra/template.yaml deploys).
package: $(LAMBDA_TOOLS)
	PATH="$(abspath .tools/venv/bin):$$PATH" $(CARGO) lambda build --release --output-format zip \
	  $(if $(filter host,$(LAMBDA_ARCH)),--compiler cargo,--$(LAMBDA_ARCH)) $(addprefix -p ,$(FUNCTIONS))

bench: bench-lambdas bench-statemachine
	node bench/readme.mjs

# Every function of FUNCTIONS, in the local stack of the state-machine tests (the emulator, moto, the Node harness).
bench-lambdas: $(PY_BENCH) $(SM)/.venv/.installed $(SM)/node_modules/.package-lock.json
	$(MAKE) package LAMBDA_ARCH=host
	$(CARGO) build --release -p emr-emulator
	node bench/lambdas.mjs

# awslambdaric (the runtime interface client of the managed Python runtimes) in a venv; the handler's deployment
# package (the handler, boto3 and its dependencies, pinned) in package/ and package.zip. Wheels only: nothing is built.
bench-python: $(PY_BENCH)

$(PY_BENCH): bench/python/requirements.txt bench/python/handler.py
	rm -rf .tools/python-bench
	python3 -m venv .tools/python-bench/venv
	.tools/python-bench/venv/bin/pip install --quiet --disable-pip-version-check --only-binary=:all: \
	  -r bench/python/requirements.txt
	.tools/python-bench/venv/bin/pip install --quiet --disable-pip-version-check --only-binary=:all: --no-deps \
	  --target .tools/python-bench/package $$(grep -E '^(boto3|botocore|jmespath|python-dateutil|s3transfer|six|urllib3)==' \
	  bench/python/requirements.txt)
	cp bench/python/handler.py .tools/python-bench/package/
	python3 -c 'import shutil; shutil.make_archive(".tools/python-bench/package", "zip", ".tools/python-bench/package")'
	touch $@

bench-statemachine: bins $(SM)/.venv/.installed $(SM)/node_modules/.package-lock.json
	npm run bench --prefix $(SM)

clean:
	$(CARGO) clean
	rm -rf .tools $(SM)/node_modules
