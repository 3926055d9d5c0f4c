#!/bin/sh
# Vendor the pinned npm packages into web/vendor/ so the page runs offline (no CDN):
#   cd web && npm ci && npm run build      (or: sh web/build.sh from anywhere, after npm ci)
# web/vendor/ is generated (gitignored); the models are served by `bgseg web` from
# bgseg/assets/ or copied next to the page for a static host (see docs/web.md).
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
