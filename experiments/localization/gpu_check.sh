#!/usr/bin/env bash
# One device call for a session that is lent a GPU: the CUDA tests, the training step and the renderer timed on the
# GPU, and an online fine-tune of the committed cube.pt read on the reality-gap sets, the randomized set with
# distractors (the selection set) and the control set with distractors (domrand's renders with the reality-gap
# cameras: what is left there is the model's, not the reality gap's). Every figure and log lands in $OUT.
#
# Prepare once, on the CPU machine, in the repository root (the device machine has no network, and its Python
# has every dependency but trimesh):
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux2014_x86_64 -d .whl "trimesh==$(python3 -c 'import trimesh; print(trimesh.__version__)')"
#   mkdir -p work/localization && cp -r /path/to/gap_objects /path/to/gap_distractors work/localization/   # 13 MB
# Then call the device tool's `run` with
#   command: bash experiments/localization/gpu_check.sh
#   carry: [".whl", "work/localization/gap_objects", "work/localization/gap_distractors"]
#   timeout_s: 540
# Knobs (environment): DEVICE (cuda), BATCH (256), STEPS (20000: the schedule's length), TRAIN_S (240: the
# fine-tune is stopped after this many seconds; best.pt is its best validation point so far).
# On the CPU, a dry run of the whole script: OUT=/tmp/gpu_check DEVICE=cpu BATCH=8 STEPS=4 TRAIN_S=60 NUM=64 bash ...
set -uo pipefail
OUT=${OUT:-/tmp/gpu_check}
DEVICE=${DEVICE:-cuda}
BATCH=${BATCH:-256}
STEPS=${STEPS:-20000}
TRAIN_S=${TRAIN_S:-240}
NUM=${NUM:-1000}
RUN=${RUN:-/tmp/gpu_finetune}
export PYTHONUNBUFFERED=1
mkdir -p "$OUT"
log() { echo "== $* ($(date +%T))" | tee -a "$OUT/steps.txt"; }

if [ -d .whl ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        && export PYTHONPATH=/tmp/site
fi
if ! command -v domrand >/dev/null || ! python3 -c "import domrand" 2>/dev/null; then
    python3 -m pip install -q --no-deps --no-build-isolation -e . || { echo "cannot install domrand"; exit 1; }
fi

log environment
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
  python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"; } 2>&1 | tee "$OUT/env.txt"

if [ "$DEVICE" != cpu ]; then
    log "CUDA tests"
    # the files with CUDA tests (collecting every test file would import PyBullet and MuJoCo, which it lacks)
    timeout 180 python3 -m pytest -q -m cuda tests/render/test_renderer.py tests/train/test_device.py -p no:cacheprovider \
        2>&1 | tail -30 | tee "$OUT/cuda_tests.txt"
fi

log "training step timed"
timeout 60 domrand bench train --device "$DEVICE" --size 128 --batch "$BATCH" --steps 10 --json "$OUT/bench_train.json" 2>&1 | tail -8
log "renderer timed"
timeout 90 domrand bench render --device "$DEVICE" --sizes 128 --peer off --json "$OUT/bench_render.json" 2>&1 | tail -8

log "online fine-tune of cube.pt for at most $TRAIN_S s"
rm -rf "$RUN"
timeout "$TRAIN_S" domrand train pose --online --size 128 --batch-size "$BATCH" --steps "$STEPS" --device "$DEVICE" \
    --init experiments/localization/checkpoints/cube.pt --out "$RUN" --quiet
cp "$RUN/log.jsonl" "$OUT/finetune_log.jsonl" 2>/dev/null
tail -3 "$OUT/finetune_log.jsonl" 2>/dev/null

log "randomized test set with distractors (seed 201, as run.py)"
domrand generate --num "$NUM" --size 128 --seed 201 --device "$DEVICE" --out /tmp/test_distractors --quiet --overwrite
log "control set with distractors: the reality-gap cameras (+-1 cm, +-1 deg) on domrand's renders (seed 204, as run.py)"
mapfile -t gap_camera < <(cd experiments/localization && python3 -c \
    'from make_reality_gap import preset_overrides; print("\n".join(f"--set\n{s}" for s in preset_overrides()))')
domrand generate --num "$NUM" --size 128 --seed 204 --device "$DEVICE" --out /tmp/control_distractors --quiet --overwrite \
    "${gap_camera[@]}"
log evaluation
for ck in experiments/localization/checkpoints/cube.pt "$RUN/best.pt"; do
    [ -f "$ck" ] || continue
    name=$(basename "$(dirname "$ck")")
    for data in /tmp/test_distractors /tmp/control_distractors work/localization/gap_objects work/localization/gap_distractors; do
        [ -d "$data" ] || continue
        domrand evaluate pose --checkpoint "$ck" --data "$data" --report "/tmp/eval_${name}_$(basename "$data").json" >/dev/null \
            && python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(f'{sys.argv[2]:14s} {sys.argv[3]:18s} mean {100*r[\"mean_error_m\"]:.2f} cm  median {100*r[\"median_error_m\"]:.2f} cm')" \
                "/tmp/eval_${name}_$(basename "$data").json" "$name" "$(basename "$data")"
    done
done 2>&1 | tee "$OUT/eval.txt"
log done
