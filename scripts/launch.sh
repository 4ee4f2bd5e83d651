#!/usr/bin/env bash
# Set up (if needed) and open napari with the sample image loaded and the Noise2Inpaint widget docked.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python scripts/launch_napari.py
