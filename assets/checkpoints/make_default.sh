#!/usr/bin/env bash
# Remakes assets/checkpoints/default.safetensors from nothing: 1000 expert demonstrations and two-stage training
# (about 30 min on 2 CPU cores), copied from runs/default/s2_r0/policy.safetensors. ROUNDS > 0 adds DAgger
# rounds (the policy drives, the expert labels) into runs/default/s2_rK; they did not help here
# (assets/checkpoints/README.md).
# Rerunning skips what is done: a collection that ran to its end, a stage whose policy.safetensors exists
# (a stopped stage leaves one too: delete its runs/default/ folder to redo it); a stopped collection resumes.
# Usage: bash assets/checkpoints/make_default.sh [ROUNDS]   (default 0)
set -euo pipefail
cd "$(dirname "$0")/../.."

ROUNDS="${1:-0}"
DATA=data/pick_agg
RUNS=runs/default
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
mkdir -p "$DATA" "$RUNS"

stamp() { echo "[$(date +%H:%M:%S)] $*"; }

# whether a collection in folder $1 ran to its end (an interrupted one is continued with --resume)
collected() {
    python -c 'import json, sys; sys.exit(0 if json.load(open(sys.argv[1])).get("complete") else 1)' \
        "$1/results.json" 2>/dev/null
}

# stage 1: one frame per sample, full fine-tuning of backbone and a linear readout of the next 10 actions
stage1() {  # out data init steps
    local init=()
    [[ -n "$3" ]] && init=(--init-from "$3")
    [[ -f "$1/policy.safetensors" ]] && return
    stamp "stage 1 -> $1"
    python eval/train.py --config assets/configs/small_frame.json --data "$2" --out "$1" "${init[@]}" \
        --max-steps "$4" --batch-size 48 --val-fraction 0.05 --val-every 250 --no-augment
}

# stage 2: windows of 8, backbone fixed (its features are computed once and stored), LSTM head trained
stage2() {  # out data init
    [[ -f "$1/policy.safetensors" ]] && return
    stamp "stage 2 -> $1"
    python eval/train.py --config assets/configs/small_full.json --data "$2" --out "$1" --init-from "$3" \
        --backbone-lr-scale 0 --max-steps 2000 --batch-size 8 --windows-per-sample 8 --val-fraction 0.05 \
        --val-every 500 --no-augment
}

if ! collected "$DATA/demos"; then
    stamp "1000 expert demonstrations"
    OMP_NUM_THREADS=1 python eval/collect.py --task pick --episodes 1000 --out "$DATA/demos" --num-envs 2 --resume
fi
stage1 "$RUNS/s1_r0a" "$DATA/demos" "" 2000
stage1 "$RUNS/s1_r0" "$DATA/demos" "$RUNS/s1_r0a/policy.safetensors" 2000   # 2000 more steps (fresh AdamW)
stage2 "$RUNS/s2_r0" "$DATA/demos" "$RUNS/s1_r0/policy.safetensors"

for ((k = 1; k <= ROUNDS; k++)); do
    prev=$((k - 1))
    if ! collected "$DATA/dagger_r$k"; then
        stamp "DAgger round $k: 240 episodes driven by s2_r$prev"
        OMP_NUM_THREADS=1 python eval/collect.py --task pick --episodes 240 --out "$DATA/dagger_r$k" \
            --seed $((190000 + 10000 * k)) --learner "$RUNS/s2_r$prev/policy.safetensors" --expert-share 0.3 \
            --num-envs 2 --resume
    fi
    steps=1000
    [[ $k == 1 ]] && steps=1750
    stage1 "$RUNS/s1_r$k" "$DATA" "$RUNS/s1_r$prev/policy.safetensors" "$steps"
    stage2 "$RUNS/s2_r$k" "$DATA" "$RUNS/s1_r$k/policy.safetensors"
done
cp "$RUNS/s2_r$ROUNDS/policy.safetensors" assets/checkpoints/default.safetensors
stamp "done: $RUNS/s2_r$ROUNDS/policy.safetensors copied to assets/checkpoints/default.safetensors"
