#!/bin/sh
# Vendor the pinned npm packages into web/vendor/ so the page runs offline (no CDN):
#   cd web && npm ci && npm run build      (or: sh web/build.sh from anywhere)
#   sh web/build.sh --models               (also copy the shipped .tflite files to web/models/,
#                                           for a static host; `bgseg web` serves them itself)
# web/vendor/ and web/models/ are generated (gitignored); see docs/web.md.
set -eu
cd "$(dirname "$0")"
if [ ! -d node_modules/@mediapipe/tasks-vision ]; then
  npm ci --no-audit --no-fund
fi
rm -rf vendor
mkdir -p vendor/tasks-vision/wasm
cp node_modules/@mediapipe/tasks-vision/vision_bundle.mjs vendor/tasks-vision/
cp node_modules/@mediapipe/tasks-vision/wasm/vision_wasm_internal.js \
   node_modules/@mediapipe/tasks-vision/wasm/vision_wasm_internal.wasm \
   node_modules/@mediapipe/tasks-vision/wasm/vision_wasm_nosimd_internal.js \
   node_modules/@mediapipe/tasks-vision/wasm/vision_wasm_nosimd_internal.wasm \
   vendor/tasks-vision/wasm/
echo "web/build.sh: vendored @mediapipe/tasks-vision into web/vendor/"
if [ "${1:-}" = "--models" ]; then
  mkdir -p models
  cp ../bgseg/assets/*.tflite models/
  echo "web/build.sh: copied the shipped models into web/models/"
fi
