#!/usr/bin/env bash
# The predictivity experiment of the README ("Does the sim rank checkpoints as the robot does?"), from nothing, on
# the photo-textured stand-in room (envs/photo_room: synthetic, NOT a real robot). All five steps are written and
# were smoke-tested end to end at tiny scale (the command below); the full-size experiment has NOT been run, so it
# has given no figures yet.
#   1. the stand-in's recordings: TWIN_RECORDINGS (24) for the twin, DEMO_CHUNKS x DEMOS_PER_CHUNK (6 x 100) expert
#      demonstrations (each chunk imported, then its 1280x720 originals deleted to spare the disk);
#   2. the twin, built from the twin's recordings only (eval/build_twin.py never reads the room's code);
#   3. five checkpoints trained on the imported demonstrations, weak to strong (see train_checkpoint below): fewer
#      demonstrations and steps, per frame, LoRA, full fine-tuning of the windowed model, and the frozen-backbone
#      second stage of the shipped recipe (docs/training.md);
#   4. each checkpoint driving the stand-in closed-loop ("the robot") on the same REAL_EPISODES (52) scenes, seeds
#      5000.., imported and placed in the twin;
#   5. predictivity.py: each checkpoint in the flat sim, the twin and the twin with calibrated dynamics, started
#      from the scenes of its real episodes; RUNS/report/{report.md,metrics.json,scatter.png}.
# The stand-in robot is 0.9x as fast as its robot config says and not late (its wheels slip, its camera is its
# own); the expert then finishes every layout in 18 steps. Both the robot and the sim run the VLA with its default
# settings (no deployment profile: make_synthetic_real.py has none, so the sim uses none either). Rerunning skips
# what is done (a step is done when its last file is written). Estimated (not measured, and made before steps 2
# to 5 were written) at about 6 hours on the 2-core CPU at full size; STOP_AFTER=data|twin|train|robot stops
# after that step.
# Scale knobs (environment; the full-size defaults in brackets): DATA [data/predictivity], RUNS
# [runs/predictivity], TWIN_RECORDINGS [24], DEMO_CHUNKS [6], DEMOS_PER_CHUNK [100], TRAIN_STEPS [2000, the
# strongest checkpoints' optimizer steps], REAL_EPISODES [52], CHECKPOINTS [all five, space-separated], CONDITIONS
# [flat twin calibrated], NUM_ENVS [1].
# Usage: bash eval/experiments/predictivity_standin.sh
# Smoke run (every step at tiny scale; 5 min 14 s wall on the shared 2-core CPU, niced; its figures mean nothing):
#   DATA=/tmp/smoke/data RUNS=/tmp/smoke/runs TWIN_RECORDINGS=4 DEMO_CHUNKS=1 \
#   DEMOS_PER_CHUNK=4 TRAIN_STEPS=4 REAL_EPISODES=2 bash eval/experiments/predictivity_standin.sh
set -euo pipefail
cd "${REPO:-$(dirname "$0")/../..}"  # REPO: when a copy of this script runs elsewhere
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

DATA="${DATA:-data/predictivity}"
RUNS="${RUNS:-runs/predictivity}"
TWIN_RECORDINGS="${TWIN_RECORDINGS:-24}"                  # seeds 1000.., the four layouts in turn
DEMO_CHUNKS="${DEMO_CHUNKS:-6}"
DEMOS_PER_CHUNK="${DEMOS_PER_CHUNK:-100}"
TRAIN_STEPS="${TRAIN_STEPS:-2000}"
REAL_EPISODES="${REAL_EPISODES:-52}"                      # per checkpoint, seeds 5000..
CHECKPOINTS="${CHECKPOINTS:-frame_few frame lora full frozen}"
CONDITIONS="${CONDITIONS:-flat twin calibrated}"
NUM_ENVS="${NUM_ENVS:-1}"
STOP_AFTER="${STOP_AFTER:-}"
TWIN=$DATA/twin
CKPTS=$RUNS/checkpoints                                   # NAME.safetensors: predictivity.py labels them by name
ROBOT=(--speed-scale-factor 0.9 --added-latency 0)       # the stand-in robot against its robot config
STANDIN=(python eval/make_synthetic_real.py --task boxnav --look photo --recordings "${ROBOT[@]}")
mkdir -p "$DATA" "$RUNS" "$CKPTS"

stamp() { echo "[$(date +%H:%M:%S)] $*"; }
stop_after() { if [[ "$STOP_AFTER" == "$1" ]]; then stamp "stopping after $1"; exit 0; fi; }

# 1. recordings for the twin (kept) and the demonstrations (imported chunk by chunk)
if [[ ! -f "$DATA/room_build/labels.yaml" ]]; then
    stamp "$TWIN_RECORDINGS recordings for the twin (seeds 1000..)"
    rm -rf "$DATA/room_build"
    "${STANDIN[@]}" --episodes "$TWIN_RECORDINGS" --scenario 1box_left,1box_right,2box_left,2box_right \
        --seed 1000 --out "$DATA/room_build"
fi
for ((chunk = 0; chunk < DEMO_CHUNKS; chunk++)); do
    demos="$DATA/demos/chunk_$chunk" raw="$DATA/raw_demos_$chunk"
    [[ -f "$demos/imported.txt" ]] && continue
    stamp "demonstrations chunk $chunk: $DEMOS_PER_CHUNK expert recordings (seeds $((100000 + 100 * chunk))..)"
    rm -rf "$raw" "$demos"
    "${STANDIN[@]}" --episodes "$DEMOS_PER_CHUNK" --seed $((100000 + 100 * chunk)) --out "$raw"
    python eval/import_real.py "$raw" --out "$demos" --labels "$raw/labels.yaml" --agent expert > "$raw.import.log"
    mv "$raw.import.log" "$demos/imported.txt"  # what was read or skipped, and the mark that the chunk is done
    rm -rf "$raw"
done
stop_after data

# 2. the twin, from the twin's recordings and the room as measured by hand (room.yaml) only
if [[ ! -f "$TWIN/twin.yaml" ]]; then
    stamp "the twin from $DATA/room_build"
    python eval/build_twin.py "$DATA/room_build" --out "$TWIN" --force
fi
stop_after twin

# 3. checkpoints, weak to strong. frame_few: per frame (small_frame: window 1, full fine-tuning) on the first
# chunk for a quarter of the steps; frame: the same on every chunk for all the steps; lora: the windowed model
# (window 8, LSTM head) with LoRA on a frozen backbone; full: the windowed model fully fine-tuned from the small
# random backbone (docs/training.md: on its own it stays near the mean action); frozen: the windowed head on
# frame's backbone held fixed (--backbone-lr-scale 0), the shipped default's two-stage recipe.
train_checkpoint() {
    local name=$1 out="$RUNS/train/$1"
    local all=(--data "$DATA/demos" --max-steps "$TRAIN_STEPS")
    local args
    case $name in
        frame_few) args=(--config assets/configs/small_frame.json --data "$DATA/demos/chunk_0"
                         --max-steps $(( (TRAIN_STEPS + 3) / 4 )) --no-augment) ;;
        frame)     args=(--config assets/configs/small_frame.json "${all[@]}" --no-augment) ;;
        lora)      args=(--config assets/configs/small_lora.json "${all[@]}") ;;
        full)      args=(--config assets/configs/small_full.json "${all[@]}") ;;
        frozen)    [[ -f "$CKPTS/frame.safetensors" ]] || train_checkpoint frame
                   args=(--config assets/configs/small_full.json "${all[@]}" --init-from "$CKPTS/frame.safetensors"
                         --backbone-lr-scale 0 --windows-per-sample 8 --no-augment) ;;
        *) echo "unknown checkpoint '$name' in CHECKPOINTS (frame_few frame lora full frozen)" >&2; exit 2 ;;
    esac
    stamp "checkpoint $name: train.py ${args[*]}"
    rm -rf "$out"
    python eval/train.py "${args[@]}" --val-fraction 0.05 --val-every 250 --seed 0 --out "$out" > "$out.log" 2>&1 \
        || { tail -20 "$out.log" >&2; exit 1; }
    cp "$out/policy.safetensors" "$CKPTS/$name.safetensors"
}
mkdir -p "$RUNS/train"
for name in $CHECKPOINTS; do
    [[ -f "$CKPTS/$name.safetensors" ]] || train_checkpoint "$name"
done
stop_after train

# 4. each checkpoint drives the stand-in ("the robot") on the same scenes; imported and placed in the twin
made_real=0
for name in $CHECKPOINTS; do
    real="$RUNS/robot/$name" raw="$RUNS/robot_raw/$name"
    [[ "$real/imported.txt" -nt "$CKPTS/$name.safetensors" ]] && continue  # done, by the checkpoint there now
    made_real=1
    stamp "checkpoint $name as the robot: $REAL_EPISODES episodes (seeds 5000..)"
    rm -rf "$raw" "$real"
    "${STANDIN[@]}" --agent vla --checkpoint "$CKPTS/$name.safetensors" --episodes "$REAL_EPISODES" --seed 5000 \
        --out "$raw"
    python eval/import_real.py "$raw" --out "$real" --labels "$raw/labels.yaml" --agent vla \
        --checkpoint "$CKPTS/$name.safetensors" --twin "$TWIN" > "$raw.import.log"
    mv "$raw.import.log" "$real/imported.txt"  # each episode's placement in the twin, and the mark of a done step
    rm -rf "$raw"
done
stop_after robot

# 5. the sim against the robot, per condition
report="$RUNS/report"
[[ $made_real == 1 ]] && rm -rf "$report"  # its sim runs started from the scenes of real episodes now replaced
if [[ ! -f "$report/report.md" ]]; then
    pairs=()
    for name in $CHECKPOINTS; do pairs+=(--checkpoint "$CKPTS/$name.safetensors" --real "$RUNS/robot/$name"); done
    resume=()
    [[ -d "$report/sim" ]] && resume=(--resume)
    stamp "predictivity.py: $CHECKPOINTS in $CONDITIONS"
    # shellcheck disable=SC2086  # CONDITIONS is a list of words
    python eval/predictivity.py "${pairs[@]}" --twin "$TWIN" --conditions $CONDITIONS --num-envs "$NUM_ENVS" \
        --out "$report" "${resume[@]}"
fi
stamp "done: $report/report.md"
