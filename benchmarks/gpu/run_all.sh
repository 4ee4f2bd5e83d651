#!/usr/bin/env bash
# One prepared run for a session with a GPU: throughput (gpu_speed.py), then time to quality
# (time_to_quality.py). Installs nothing from the internet; CAREamics runs only when its wheels
# were carried in .whl/. About 9 minutes with the defaults; see README.md beside this file.
#
#   bash benchmarks/gpu/run_all.sh          (device tool: carry .gpu_data, and .whl if any)
#
# Settings (environment): N2I_DATA (default .gpu_data), CHECKPOINTS (default "60 120 240", or
# "60 120" with CAREamics), METHODS ("n2i n2v"), TEST_IMAGES (68), SPEED_SECONDS (10),
# TOTAL_S (570: the whole script, under the tool's 600 s per command), SPEED_ARGS and TTQ_ARGS
# (extra arguments of each script), ALLOW_CPU (1: go on without a GPU, for a smoke run).
set -u
cd "$(dirname "$0")/../.." || exit 1
RES="${OUT:+$OUT/results}"
RES="${RES:-benchmarks/results/gpu}"
mkdir -p "$RES"
exec > >(tee -a "$RES/run_all.log") 2>&1

DATA="${N2I_DATA:-.gpu_data}"
METHODS="${METHODS:-n2i n2v}"
TEST_IMAGES="${TEST_IMAGES:-68}"
SPEED_SECONDS="${SPEED_SECONDS:-10}"
TOTAL_S="${TOTAL_S:-570}"
PY="${PYTHON:-python3}"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
START=$SECONDS
left() { echo $((TOTAL_S - (SECONDS - START))); }
step() { echo; echo "=== $* ($(($SECONDS - START)) s elapsed, $(left) s left)"; }

step "machine"
{
  date -u
  if ! nvidia-smi; then
    echo "nvidia-smi failed: no GPU here"
    [ "${ALLOW_CPU:-0}" = 1 ] || exit 1
  fi
  "$PY" -c "import torch, sys; print(sys.version); print('torch', torch.__version__, 'cuda',
torch.version.cuda, 'available', torch.cuda.is_available())"
  nproc
} 2>&1 | tee "$RES/machine.txt"
[ "${PIPESTATUS[0]}" = 0 ] || exit 1
for folder in train400 bsd68; do
  ls "$DATA/$folder"/*.png >/dev/null 2>&1 || { echo "no $DATA/$folder/*.png: carry it"; exit 1; }
done

CAREAMICS=""
if ls .whl/careamics-*.whl >/dev/null 2>&1; then
  step "CAREamics from carried wheels"
  if "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target /tmp/site .whl/*.whl; then
    export PYTHONPATH="$PYTHONPATH:/tmp/site"
    if "$PY" -c "import careamics; print('careamics', careamics.__version__)"; then
      CAREAMICS="--careamics"
    else
      echo "import careamics failed (missing wheels above): running without CAREamics"
    fi
  fi
fi
if [ -n "$CAREAMICS" ]; then
  CHECKPOINTS="${CHECKPOINTS:-60 120}"
else
  CHECKPOINTS="${CHECKPOINTS:-60 120 240}"
fi

step "gpu_speed.py"
timeout -k 5 "$(( $(left) < 150 ? $(left) : 150 ))" "$PY" benchmarks/gpu_speed.py \
  --data "$DATA" --out "$RES" --seconds "$SPEED_SECONDS" ${SPEED_ARGS:-} \
  || echo "gpu_speed.py ended with status $?"

step "time_to_quality.py, checkpoints $CHECKPOINTS"
# Results are written after every checkpoint, so a timeout keeps what was measured.
timeout -k 5 "$(($(left) - 5))" "$PY" benchmarks/time_to_quality.py --data "$DATA" \
  --out "$RES" --checkpoints $CHECKPOINTS --methods $METHODS --test-images "$TEST_IMAGES" \
  $CAREAMICS ${TTQ_ARGS:-} || echo "time_to_quality.py ended with status $?"

step "done"
ls -l "$RES"
cat "$RES"/gpu_speed.md "$RES"/time_to_quality.md 2>/dev/null
