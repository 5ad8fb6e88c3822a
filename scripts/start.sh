#!/usr/bin/env bash
# Installs everything (first run only) and opens the studio on the demo tapes at http://127.0.0.1:8501.
# Extra arguments go to `tape-studio`, e.g. `scripts/start.sh --port 8600`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
exec .venv/bin/tape-studio "$@"
