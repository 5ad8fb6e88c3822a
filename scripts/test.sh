#!/usr/bin/env bash
# Installs everything (first run only) and runs the whole test suite. Extra arguments go to pytest,
# e.g. `scripts/test.sh -m "not live_model"` to skip the tests that run the real embedded model.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
scripts/install_browser.sh
exec .venv/bin/python -m pytest "$@"
