#!/usr/bin/env bash
# After a training segment of the default checkpoint: calibrate the run's final weights into
# the shipped file and measure it as the model card reports it (calibration, evaluate-geo on
# 8 held-out seeds per platform, the paper-format RRA/RTA table). Renders missing data first.
#   bash tools/measure_default_model.sh [REPORT_DIR]      (about 25 minutes on 2 cores)
set -euo pipefail
BIN=${VENV:-.venv}/bin
RUN=models/runs/skynet_location_tiny
CONFIG=config/train/skynet_location_tiny.yaml
MODEL=models/skynet_location_tiny.safetensors
OUT=${1:-runs/default_model}

# make-synthetic DIR SEED SCENES SIZE [FLAGS...], only when DIR holds no scenes yet
scenes() {
    local dir=$1 seed=$2 count=$3 size=$4
    shift 4
    [ -n "$(ls -A "$dir" 2>/dev/null)" ] && return
    "$BIN/sky2ground" make-synthetic --out "$dir" --seed "$seed" --scenes "$count" --size "$size" "$@"
}
LOCATION_VIEWS=(--satellite 0 --aerial-positions 20 --ground 30 --orthophoto --ortho-gsd 1.0)

scenes data_out/loc/calib 2000 8 128 "${LOCATION_VIEWS[@]}"
# model.safetensors: the weights train writes whenever a segment stops (gitignored)
"$BIN/sky2ground" calibrate-location --config "$CONFIG" --weights "$RUN/model.safetensors" \
    --scenes data_out/loc/calib --windows-per-scene 32 --out "$MODEL"
mv "${MODEL%.safetensors}.calibration.md" "$RUN/calibration.md"

"$BIN/sky2ground" evaluate-geo --model oracle classical models/location_tiny.safetensors "$MODEL" \
    --platform both --scenes 8 --out "$OUT/geo" --no-progress
cp "$OUT/geo/report.md" "$RUN/evaluate_geo.md"
cp "$OUT/geo/report.png" "$RUN/evaluate_geo.png"

scenes data_out/bench/heldout 1000 6 96
"$BIN/sky2ground" eval --scenes data_out/bench/heldout --image-size 84 --out "$OUT/eval" \
    --weights models/skynet_tiny.safetensors --weights models/location_tiny.safetensors \
    --weights "$MODEL"
cp "$OUT/eval/report.md" "$RUN/eval_rra_rta.md"
echo "measured: $RUN/{calibration,evaluate_geo,eval_rra_rta}.md"
