#!/bin/sh
# Installs moto (the local S3 of the s3:// scenarios and the local DynamoDB of the lock table) into
# tests/statemachine/.venv, pinned by requirements.txt. Quick when it is already there.
set -eu
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
if ! .venv/bin/python -c 'import moto.server' 2>/dev/null || [ requirements.txt -nt .venv/.installed ]; then
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
  touch .venv/.installed
fi
