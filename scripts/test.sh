#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite headless (Xvfb via pytest-xvfb).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check src tests benchmarks scripts
.venv/bin/npe2 validate --imports napari-noise2inpaint
.venv/bin/python -m pytest -q "$@"
