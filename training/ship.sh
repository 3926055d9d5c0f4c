#!/usr/bin/env bash
# Reproduce the shipped default models end to end: train, export, copy into the package, check on the
# real GPU delegate, and measure side by side with MediaPipe. Run from the repository root with the
# [train] extra installed and ../shared/data present. About 2 h on 2 CPU cores.
set -euo pipefail
cd "$(dirname "$0")/.."
data="../shared/data"
trained="ccp, celebamask, coco_person (train split), coco_mini (train split), davis_train (train clips); backgrounds: SUN, Places365 rooms, CamVid street"

python -m bgseg train --config training/default_video.json            # stage 1
python -m bgseg train --config training/default_video_finetune.json   # stage 2
python -m bgseg train --config training/default_video_distractor.json # stage 3: the video model
python -m bgseg train --config training/default_image.json            # image twin, from stage 2

export_pair() {  # $1 .keras, $2 release name
  python -m bgseg export "$1" -o "tflite/$2_float16.tflite" --mode float16 \
    --training-data "$trained" --overwrite
  python -m bgseg export "$1" -o "tflite/$2_int8.tflite" --mode int8 \
    --representative "$data/unlabelled_people" --samples 128 --training-data "$trained" --overwrite
}
export_pair runs/default_video_distractor/best.keras bgseg_video_256
export_pair runs/default_image/best.keras bgseg_image_256

# The package's default models (loaded by name, e.g. bgseg.load("default")): the int8 files, the
# fastest on CPU at the same IoU (docs/model_card.md); Android GPU users take the float16 files.
cp tflite/bgseg_video_256_int8.tflite bgseg/assets/default_video.tflite
cp tflite/bgseg_image_256_int8.tflite bgseg/assets/default_image.tflite

tflite/ci_gpu_delegate.sh
for name in bgseg_video_256_float16 bgseg_video_256_int8 bgseg_image_256_int8; do
  python benchmarks/compare_mediapipe.py --model "tflite/$name.tflite" --name "$name" \
    --markdown "docs/results/$name.md" --json "docs/results/$name.json" --overwrite
done
