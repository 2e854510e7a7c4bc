#!/usr/bin/env bash
# Lint and security-check the deployable stack: infra/template.yaml, the state machine
# definitions it loads, and this directory's own scripts. `make test` runs it. Every check runs
# even after one fails; the exit status is non-zero if any found anything.
#
# The pinned tools are installed on first use (one to two minutes) into .venv and .venv/sam-cli,
# and reinstalled only when requirements-dev.txt or infra/requirements-sam.txt change.
# Nothing here needs AWS credentials or a network beyond the package index for that install.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
template=infra/template.yaml
tools=.venv/bin

# ensure_venv DIR REQUIREMENTS: create the venv and install the requirements unless this exact
# requirements file was already installed there.
ensure_venv() {
    local dir=$1 requirements=$2 stamp want
    stamp="$dir/.installed-requirements.sha256"
    want=$(sha256sum "$requirements" | cut -d' ' -f1)
    if [[ -f $stamp && $(<"$stamp") == "$want" ]]; then
        return
    fi
    echo "== installing $requirements into $dir"
    [[ -x $dir/bin/python ]] || python3 -m venv "$dir"
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
        -r "$requirements"
    echo "$want" >"$stamp"
}

failed=()
# check NAME COMMAND...: run one check, report it, remember a failure.
check() {
    local name=$1 start=$SECONDS
    shift
    echo "== $name"
    if "$@"; then
        echo "   ok ($((SECONDS - start)) s)"
    else
        echo "   FAILED: $name"
        failed+=("$name")
    fi
}

# checkov exits 0 when it could not parse the template and so ran no check: make sure it ran.
checkov_ran_checks() {
    "$tools/python" - "$1" <<'EOF'
import json, sys
summary = json.load(open(sys.argv[1]))["summary"]
if summary["parsing_errors"] or not summary["passed"]:
    sys.exit(f"checkov ran no checks: {summary}")
EOF
}

checkov_template() {
    "$tools/checkov" --file "$template" --framework cloudformation --skip-download \
        --compact --quiet --output cli --output json \
        --output-file-path "console,$work/checkov.json" &&
        checkov_ran_checks "$work/checkov.json"
}

state_machine_definitions() {
    "$tools/python" infra/lint_template.py "$template" "$work" &&
        "$tools/cfn-lint" "$work"/*.template.json
}

sam_validate() {
    # Validation needs a region name but calls no AWS API.
    SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}" \
        .venv/sam-cli/bin/sam validate --lint --template-file "$template"
}

ensure_venv .venv requirements-dev.txt
ensure_venv .venv/sam-cli infra/requirements-sam.txt

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

check "shellcheck infra/check.sh" "$tools/shellcheck" infra/check.sh
check "ruff infra/lint_template.py" "$tools/ruff" check --no-cache infra/lint_template.py
check "ruff format infra/lint_template.py" "$tools/ruff" format --no-cache --check infra/lint_template.py
check "cfn-lint $template" "$tools/cfn-lint" "$template"
check "state machine definitions, substitutions, invoke grants, checkov skip reasons" state_machine_definitions
check "checkov $template" checkov_template
check "sam validate --lint" sam_validate

if ((${#failed[@]})); then
    echo "infra checks failed: ${failed[*]}"
    exit 1
fi
echo "infra checks passed"
