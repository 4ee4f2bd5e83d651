#!/usr/bin/env bash
# Set up (if needed) and open napari with the sample image loaded and the Noise2Inpaint widget docked.
# Without a display, denoise the sample with the built-in prior instead and say where the
# before/after PNG and the result are (scripts/launch_napari.py decides). Usage: bash scripts/launch.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python scripts/launch_napari.py "$@"
