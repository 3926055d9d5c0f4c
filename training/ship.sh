#!/usr/bin/env bash
# Reproduce the shipped models end to end: convert MediaPipe's Apache-2.0 selfie segmenter, fine-tune
# the video model from it, derive the image model, register the Keras weights, export the TFLite
# files, copy them into the package, check them on the real GPU delegate and measure them side by
# side with MediaPipe. Run from the repository root with the [train] extra installed,
# tflite/setup_mediapipe_venv.sh done and ../shared/data present. About 2.5 h on 2 CPU cores.
set -euo pipefail
cd "$(dirname "$0")/.."
trained="fine-tuned from MediaPipe selfie segmentation (Apache-2.0) on ccp, celebamask, coco_person (train split), coco_mini (train split), davis_train (train clips); backgrounds: SUN, Places365 rooms, CamVid street; blended with the original weights (WiSE-FT, alpha 0.35)"
terms="non-commercial (CelebAMask-HQ, DAVIS, backgrounds in the training data); see docs/model_card.md"

python training/convert_mediapipe.py                         # bgseg/assets/mediapipe_selfie.keras
python -m bgseg train --config training/selfie_video.json    # runs/selfie_video/best.keras
# (the shipped run was stopped after 17 of its 30 epochs for time; best.keras is epoch 16)

# WiSE-FT: blend the fine-tune with the original in weight space. Candidates 1.0, 0.7, 0.5, 0.35
# were measured on the *val* split only; the rule fixed beforehand: the largest weight whose val
# IoU is at least MediaPipe's on every set (DAVIS with the mask fed back included) -> 0.35.
for alpha in 0.7 0.5 0.35; do
  python training/interpolate.py runs/selfie_video/best.keras --original mediapipe_selfie \
    --alpha "$alpha" -o "runs/selfie_video/wise_$alpha.keras"
done
chosen=runs/selfie_video/wise_0.35.keras

python training/register.py "$chosen" --name default_video --preset selfie_256 \
  --license "$terms" --description "bgseg default video model (RGB + previous mask)"

# the image model (v0.3): a second stage from default_video on the runtime's zoom crops
# (augment.zoom_crop 0.4, 12 epochs, about 24 min), registered without the previous-mask channel.
# The rule fixed beforehand, on the val split: a candidate replaces the image model when it is at
# least as good as the current one and MediaPipe on every still set, raw and through the runtime
# (epoch 5 of a 6-epoch run beat v0.2; extended to 12, epoch 12 beat epoch 5). Its video twin is
# not shipped: raw DAVIS 0.754 < MediaPipe's 0.780.
python -m bgseg train --config training/selfie_video_zoom.json      # runs/selfie_video_zoom/best.keras
python training/register.py runs/selfie_video_zoom/best.keras --name default_image \
  --preset selfie_image_256 --license "$terms" --description "bgseg default image model (RGB)"

python -m bgseg export bgseg/assets/default_video.keras -o tflite/bgseg_video_256_float16.tflite \
  --mode float16 --training-data "$trained" --overwrite
cp tflite/bgseg_video_256_float16.tflite bgseg/assets/default_video.tflite
python -m bgseg export bgseg/assets/default_image.keras -o tflite/bgseg_image_256_float16.tflite \
  --mode float16 --overwrite --training-data "fine-tuned from MediaPipe selfie segmentation \
(Apache-2.0) on ccp, celebamask, coco_person (train split), coco_mini (train split), davis_train \
(train clips); backgrounds: SUN, Places365 rooms, CamVid street; second stage on the runtime's zoom crops"
cp tflite/bgseg_image_256_float16.tflite bgseg/assets/default_image.tflite
python -m bgseg export bgseg/assets/mediapipe_selfie.keras -o tflite/mediapipe_selfie_256_float16.tflite \
  --mode float16 --overwrite \
  --training-data "MediaPipe selfie segmentation (mediapipe==0.10.21), weights converted unmodified; Apache-2.0"
cp tflite/mediapipe_selfie_256_float16.tflite bgseg/assets/mediapipe_selfie.tflite


# the quality video model (issue 18): the shipped video weights fine-tuned at 384x384 (4 epochs,
# about 20 min); the rule fixed beforehand (training/README.md) picked last.keras on the val split
python -m bgseg train --config training/selfie_video_384.json        # runs/selfie_video_384/last.keras
python training/register.py runs/selfie_video_384/last.keras --name quality_video --preset selfie_384 \
  --license "$terms" --description "bgseg quality video model (RGB + previous mask, 384x384)"
python -m bgseg export bgseg/assets/quality_video.keras -o tflite/bgseg_video_384_float16.tflite \
  --mode float16 --overwrite --training-data "fine-tuned at 384x384 from the bgseg default video \
model on ccp, celebamask, coco_person (train split), coco_mini (train split), davis_train (train \
clips); backgrounds: SUN, Places365 rooms, CamVid street; distilled 0.2 from MediaPipe selfie \
segmentation (Apache-2.0)"
cp tflite/bgseg_video_384_float16.tflite bgseg/assets/quality_video.tflite

tflite/ci_gpu_delegate.sh
python -m benchmarks.compare_mediapipe --model tflite/bgseg_video_256_float16.tflite \
  --name bgseg_video_256_float16 --without-feedback --with-runtime \
  --also converted_original=tflite/mediapipe_selfie_256_float16.tflite \
  --runtime-also converted_original=tflite/mediapipe_selfie_256_float16.tflite \
  --markdown docs/results/bgseg_video_256_float16.md --json docs/results/bgseg_video_256_float16.json \
  --overwrite
python -m benchmarks.compare_mediapipe --model tflite/bgseg_video_256_float16.tflite \
  --name bgseg_video_256_float16 --split test --sets celebamask ccp coco_person davis --with-runtime \
  --markdown docs/results/bgseg_video_256_float16_test.md \
  --json docs/results/bgseg_video_256_float16_test.json --overwrite
python -m benchmarks.compare_mediapipe --model tflite/bgseg_image_256_float16.tflite \
  --name bgseg_image_256_float16 --sets celebamask ccp coco_person --with-runtime \
  --markdown docs/results/bgseg_image_256_float16.md --json docs/results/bgseg_image_256_float16.json \
  --overwrite
python -m benchmarks.feedback_loop --model tflite/bgseg_video_256_float16.tflite \
  --json docs/results/feedback_loop.json
