#!/bin/sh
# Installs moto (the local S3 of the s3:// scenarios and the local DynamoDB of the lock table) into
# tests/statemachine/.venv, pinned by requirements.txt, and libfaketime (below). Quick when they are already there.
set -eu
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
if ! .venv/bin/python -c 'import moto.server' 2>/dev/null || [ requirements.txt -nt .venv/.installed ]; then
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
  touch .venv/.installed
fi
# libfaketime: the functions run on the harness's virtual clock through it (lib/clock.mjs). Debian's package, the
# version of the release the machines run.
if ! ls /usr/lib/*/faketime/libfaketimeMT.so.1 >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "libfaketime is missing: install Debian's libfaketime package (apt-get install libfaketime)" >&2
    exit 1
  fi
  apt-get update -qq
  apt-get install -y -qq libfaketime=0.9.10-2.1 >/dev/null
fi
