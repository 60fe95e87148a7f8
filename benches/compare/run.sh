#!/bin/sh
# awsim side by side with SimPy, Ciw, SimFaaS, nexosim and a hand-written loop (issue 15).
# On demand, not in CI: makes its own virtual environment (.venv, beside this file) with the
# pinned peers from PyPI, then runs run.py, which builds awsim, runs every model, checks that
# the simulators agree, and writes the table. Usage: sh benches/compare/run.sh [--quick]
# [--out DIR] [--only mm8,mm8_big,simfaas,alb,pool]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
venv="$here/.venv"
if [ ! -x "$venv/bin/python" ] || ! cmp -s "$here/requirements.txt" "$venv/installed.txt"; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
    cp "$here/requirements.txt" "$venv/installed.txt"
fi
exec "$venv/bin/python" "$here/run.py" "$@"
