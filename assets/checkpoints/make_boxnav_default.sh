#!/usr/bin/env bash
# Remakes assets/checkpoints/boxnav_default.safetensors from nothing: 1000 scripted-expert boxnav demonstrations
# on the users' robot (assets/robots/mobile_vla_omni.yaml: 18 steps of a 0.4 s move and a stop) and the same
# two-stage training as the pick default (make_default.sh); about 20 min on 2 CPU cores.
# Rerunning skips what is done (a finished collection, a stage whose policy.safetensors exists).
# Usage: bash assets/checkpoints/make_boxnav_default.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

DATA=data/boxnav/demos
RUNS=runs/boxnav_default
ROBOT=assets/robots/mobile_vla_omni.yaml
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
mkdir -p "$RUNS"

stamp() { echo "[$(date +%H:%M:%S)] $*"; }

if ! python -c 'import json, sys; sys.exit(0 if json.load(open(sys.argv[1])).get("complete") else 1)' \
        "$DATA/results.json" 2>/dev/null; then
    stamp "1000 expert demonstrations (seeds 100000..100999)"
    OMP_NUM_THREADS=1 python eval/collect.py --task boxnav --robot-config "$ROBOT" --episodes 1000 --out "$DATA" \
        --num-envs 2 --resume
fi
# stage 1: one frame per sample, full fine-tuning of the backbone and a linear readout of the next 10 actions
if [[ ! -f "$RUNS/s1/policy.safetensors" ]]; then
    stamp "stage 1 -> $RUNS/s1"
    python eval/train.py --config assets/configs/small_frame.json --data "$DATA" --out "$RUNS/s1" \
        --max-steps 3000 --batch-size 48 --val-fraction 0.05 --val-every 500 --no-augment
fi
# stage 2: windows of 8, backbone fixed (its features computed once and stored), LSTM head trained
if [[ ! -f "$RUNS/s2/policy.safetensors" ]]; then
    stamp "stage 2 -> $RUNS/s2"
    python eval/train.py --config assets/configs/small_full.json --data "$DATA" --out "$RUNS/s2" \
        --init-from "$RUNS/s1/policy.safetensors" --backbone-lr-scale 0 --max-steps 2000 --batch-size 8 \
        --windows-per-sample 8 --val-fraction 0.05 --val-every 500 --no-augment
fi
cp "$RUNS/s2/policy.safetensors" assets/checkpoints/boxnav_default.safetensors
stamp "done: $RUNS/s2/policy.safetensors copied to assets/checkpoints/boxnav_default.safetensors"

# the figures of assets/checkpoints/README.md: 100 unseen seeds each, next to the expert and random, and the probe
for agent in vla expert random; do
    out="$RUNS/eval_5000_$agent"
    [[ -f "$out/results.json" ]] || OMP_NUM_THREADS=1 python eval/rollout.py --task boxnav --agent "$agent" \
        --episodes 100 --seed 5000 --num-envs 2 --no-video --out "$out"
done
python eval/probe_instruction.py --checkpoint assets/checkpoints/boxnav_default.safetensors \
    --data "$RUNS/eval_5000_vla" --episodes 10 --out "$RUNS/eval_5000_probe.json"
stamp "figures: $RUNS/eval_5000_*/results.json and $RUNS/eval_5000_probe.json"
