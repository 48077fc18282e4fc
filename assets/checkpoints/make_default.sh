#!/usr/bin/env bash
# Remakes assets/checkpoints/default.safetensors from nothing (about 60 min on 2 CPU cores): 3000 scripted-expert
# pick demonstrations in two sets and per-frame training (stage 1) over five runs, the last three with the
# auxiliary named-object loss (small_frame_object.json), the last two on all 3000, then the windowed LSTM head
# (stage 2). The first two runs and a stage 2 are the session-4 default. Each step's result:
# assets/checkpoints/README.md. (Its DAgger rounds, which did not help, are in this file's git history.)
# Rerunning skips what is done: a collection that ran to its end, a stage whose policy.safetensors exists
# (a stopped stage leaves one too: delete its runs/default/ folder to redo it); a stopped collection resumes.
# Usage: bash assets/checkpoints/make_default.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

DATA=data/pick_agg
RUNS=runs/default
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
mkdir -p "$DATA" "$RUNS"

stamp() { echo "[$(date +%H:%M:%S)] $*"; }

# a collection of $2 episodes from seed $3 into $1 (resumed if it was stopped)
collect() {
    if ! python -c 'import json, sys; sys.exit(0 if json.load(open(sys.argv[1])).get("complete") else 1)' \
            "$1/results.json" 2>/dev/null; then
        stamp "$2 expert demonstrations from seed $3 -> $1"
        OMP_NUM_THREADS=1 python eval/collect.py --task pick --episodes "$2" --seed "$3" --out "$1" --num-envs 2 --resume
    fi
}

# stage 1: one frame per sample, full fine-tuning of the backbone and a linear readout of the next 10 actions
stage1() {  # out data init steps config
    local init=()
    [[ -n "$3" ]] && init=(--init-from "$3")
    [[ -f "$1/policy.safetensors" ]] && return
    stamp "stage 1 ($5) -> $1"
    python eval/train.py --config "$5" --data "$2" --out "$1" "${init[@]}" \
        --max-steps "$4" --batch-size 48 --val-fraction 0.05 --val-every 500 --no-augment
}

# stage 2: windows of 8, backbone fixed (its features are computed once and stored), LSTM head trained
stage2() {  # out data init
    [[ -f "$1/policy.safetensors" ]] && return
    stamp "stage 2 -> $1"
    python eval/train.py --config assets/configs/small_full.json --data "$2" --out "$1" --init-from "$3" \
        --backbone-lr-scale 0 --max-steps 2000 --batch-size 8 --windows-per-sample 8 --val-fraction 0.05 \
        --val-every 500 --no-augment
}

FRAME=assets/configs/small_frame.json
OBJECT=assets/configs/small_frame_object.json
collect "$DATA/demos" 1000 100000
stage1 "$RUNS/s1_a" "$DATA/demos" "" 2000 "$FRAME"
stage1 "$RUNS/s1_b" "$DATA/demos" "$RUNS/s1_a/policy.safetensors" 2000 "$FRAME"       # the session-4 stage 1
stage2 "$RUNS/s2_b" "$DATA/demos" "$RUNS/s1_b/policy.safetensors"                     # the session-4 default
stage1 "$RUNS/s1_c" "$DATA/demos" "$RUNS/s2_b/policy.safetensors" 3000 "$OBJECT"     # + the object loss (fresh readout)
collect "$DATA/demos_more" 2000 101000
if [[ ! -d data/pick_3000 ]]; then  # the first two sets alone, as hard links (same names, so the same split)
    mkdir -p data/pick_3000 && cp -al "$DATA/demos" data/pick_3000/demos && cp -al "$DATA/demos_more" data/pick_3000/demos_more
fi
stage1 "$RUNS/s1_d" data/pick_3000 "$RUNS/s1_c/policy.safetensors" 3000 "$OBJECT"    # 3000 demonstrations
stage1 "$RUNS/s1_e" data/pick_3000 "$RUNS/s1_d/policy.safetensors" 3000 "$OBJECT"    # 3000 more steps
stage2 "$RUNS/s2" data/pick_3000 "$RUNS/s1_e/policy.safetensors"
cp "$RUNS/s2/policy.safetensors" assets/checkpoints/default.safetensors
stamp "done: $RUNS/s2/policy.safetensors copied to assets/checkpoints/default.safetensors"

# the figures of assets/checkpoints/README.md: 100 unseen seeds each, the default next to the expert and random
for agent in vla expert random; do
    out="$RUNS/eval_5000_$agent"
    [[ -f "$out/results.json" ]] || OMP_NUM_THREADS=1 python eval/rollout.py --task pick --agent "$agent" \
        --episodes 100 --seed 5000 --num-envs 2 --no-video --out "$out"
done
python eval/failures.py "$RUNS/eval_5000_vla" --out "$RUNS/eval_5000_failures.json"
stamp "figures: $RUNS/eval_5000_*/results.json and $RUNS/eval_5000_failures.json"
