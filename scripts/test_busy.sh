#!/usr/bin/env bash
# Run the whole test suite while two busy processes load both cores (the suite must not depend
# on timing or load). Usage: bash scripts/test_busy.sh [pytest args]; from a background job too:
#   nohup bash scripts/test_busy.sh > busy.log 2>&1 &
set -euo pipefail
cd "$(dirname "$0")/.."
busy=()
for _ in 1 2; do
    python3 -c 'while True: pass' &
    busy+=($!)
done
trap 'kill "${busy[@]}" 2>/dev/null || true' EXIT
bash scripts/test.sh "$@"
