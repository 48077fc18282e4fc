#!/usr/bin/env bash
# The predictivity experiment of the README ("Does the sim rank checkpoints as the robot does?"), from nothing, on
# the photo-textured stand-in room (envs/photo_room: synthetic, NOT a real robot). NOT FINISHED: only step 1 (the
# data) is written so far; steps 2 to 5 come with the experiment itself (issue 27, item 2), which has not been run.
# The plan:
#   1. the stand-in's recordings: 24 for the twin, 600 expert demonstrations (in chunks of 100, imported, then the
#      1280x720 originals deleted to spare the disk);
#   2. the twin, built from the 24 recordings only (eval/build_twin.py never reads the room's code);
#   3. checkpoints trained on the imported demonstrations, weak to strong;
#   4. each checkpoint driving the stand-in closed-loop ("the robot") on the same 52 scenes, imported and placed
#      in the twin;
#   5. predictivity.py: each checkpoint in the flat sim, the twin and the twin with calibrated dynamics, started
#      from the scenes of its real episodes; report.md, metrics.json and a scatter plot.
# The stand-in robot is 0.9x as fast as its robot config says and not late (its wheels slip, its camera is its
# own); the expert then finishes every layout in 18 steps. Rerunning skips what is done. Estimated (not measured)
# at about 6 hours on the 2-core CPU for the whole experiment; STOP_AFTER=data stops after step 1.
# Usage: bash eval/experiments/predictivity_standin.sh
set -euo pipefail
cd "${REPO:-$(dirname "$0")/../..}"  # REPO: when a copy of this script runs elsewhere
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

DATA=data/predictivity
RUNS=runs/predictivity
TWIN=$DATA/twin
ROBOT=(--speed-scale-factor 0.9 --added-latency 0)       # the stand-in robot against its robot config
STANDIN=(python eval/make_synthetic_real.py --task boxnav --look photo --recordings "${ROBOT[@]}")
DEMO_CHUNKS=6                                             # x 100 demonstrations
REAL_EPISODES=52                                          # per checkpoint, seeds 5000..5051
STOP_AFTER="${STOP_AFTER:-}"
mkdir -p "$DATA" "$RUNS"

stamp() { echo "[$(date +%H:%M:%S)] $*"; }
stop_after() { if [[ "$STOP_AFTER" == "$1" ]]; then stamp "stopping after $1"; exit 0; fi; }

# 1. recordings for the twin (kept) and the demonstrations (imported chunk by chunk)
if [[ ! -f "$DATA/room_build/labels.yaml" ]]; then
    stamp "24 recordings for the twin (seeds 1000..1023)"
    rm -rf "$DATA/room_build"
    "${STANDIN[@]}" --episodes 24 --scenario 1box_left,1box_right,2box_left,2box_right --seed 1000 \
        --out "$DATA/room_build"
fi
for ((chunk = 0; chunk < DEMO_CHUNKS; chunk++)); do
    demos="$DATA/demos/chunk_$chunk" raw="$DATA/raw_demos_$chunk"
    [[ -f "$demos/imported.txt" ]] && continue
    stamp "demonstrations chunk $chunk: 100 expert recordings (seeds $((100000 + 100 * chunk))..)"
    rm -rf "$raw" "$demos"
    "${STANDIN[@]}" --episodes 100 --seed $((100000 + 100 * chunk)) --out "$raw"
    python eval/import_real.py "$raw" --out "$demos" --labels "$raw/labels.yaml" --agent expert > "$raw.import.log"
    tail -1 "$raw.import.log" > "$demos/imported.txt"
    rm -rf "$raw" "$raw.import.log"
done
stop_after data
