"""Frames/s and per-frame model time of the web app in the system's headless Chromium.

    python -m benchmarks.web_fps --seconds 10 --size 640x480

Serves `web/` (built: `web/build.sh`) with `bgseg web`'s server, feeds a fake camera from a
generated .y4m clip (examples/astronaut.jpg moving on a gradient, 30 frames/s), and for each model
(bgseg's video model, MediaPipe's selfie model, run the same way: the page's zoom and effect) and
delegate (GPU: WebGL, here SwiftShader in software; CPU: WASM) lets the page run `--warmup`
seconds, then counts the frames the page finished and the model milliseconds it measured
(`ImageSegmenter.segment` calls, summed per frame) over `--seconds`. Without a real GPU these are
lower bounds; frames/s cannot exceed the camera's 30.
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

from benchmarks import browser

MODELS = ("default_video", "mediapipe_selfie")
STATS_JS = "() => ({...window.bgsegApp.stats, error: window.bgsegApp.error})"


def measure(context, url, model, delegate, warmup, seconds):
    page = browser.open_page(context, f"{url}?source=camera&model={model}&delegate={delegate}")
    if browser.page_error(page):
        raise SystemExit(f"{model}/{delegate}: {browser.page_error(page)}")
    page.select_option("#effect", "blur")
    time.sleep(warmup)
    start, begin = page.evaluate(STATS_JS), time.perf_counter()
    time.sleep(seconds)
    end, elapsed = page.evaluate(STATS_JS), time.perf_counter() - begin
    page.close()
    frames = end["frames"] - start["frames"]
    return {"model": model, "delegate": delegate, "frames": frames,
            "fps": round(frames / elapsed, 2),
            "model_ms": round((end["modelMs"] - start["modelMs"]) / max(frames, 1), 1),
            "segment_ms": round((end["segmentMs"] - start["segmentMs"]) / max(frames, 1), 1),
            "draw_ms": round((end["drawMs"] - start["drawMs"]) / max(frames, 1), 1),
            "runs_per_frame": round((end["runs"] - start["runs"]) / max(frames, 1), 2)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time per run")
    parser.add_argument("--warmup", type=float, default=4.0, help="seconds before measuring")
    parser.add_argument("--size", default="640x480", help="camera frame size WxH (even)")
    parser.add_argument("--delegates", default="GPU,CPU")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    args = parser.parse_args(argv)
    reason = browser.missing()
    if reason:
        raise SystemExit(f"web_fps: {reason}")
    width, height = (int(v) for v in args.size.lower().split("x"))
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        clip = Path(folder) / "camera.y4m"
        frames = browser.person_frames(count=60, width=width, height=height, step=2)
        browser.write_y4m(clip, frames + frames[::-1])
        with browser.served() as url, browser.chromium(camera=clip) as context:
            version = context.browser.version if context.browser else "?"
            for model in args.models.split(","):
                for delegate in args.delegates.split(","):
                    row = measure(context, url, model, delegate, args.warmup, args.seconds)
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    print(f"Chromium {version}, headless, SwiftShader WebGL; {args.size} camera, "
          f"{args.seconds:g} s per run after {args.warmup:g} s warm-up")
    print("| model | delegate | frames/s | model ms / frame | segment ms / frame (model + JS "
          "pre/post) | effect ms / frame | model runs / frame |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['delegate']} ({'WebGL' if r['delegate'] == 'GPU' else 'WASM'})"
              f" | {r['fps']} | {r['model_ms']} | {r['segment_ms']} | {r['draw_ms']}"
              f" | {r['runs_per_frame']} |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
