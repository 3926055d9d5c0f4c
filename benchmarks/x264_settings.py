"""x264 settings for `bgseg video`'s H.264: encoding CPU time, output size and PSNR per setting.

    python -m benchmarks.x264_settings --frames 120

Encodes the first `--frames` frames of ../shared/data/videos/juggle.mp4 (1280x720, converted to
yuv420p BT.709 once, beforehand, as `bgseg.video_io.VideoWriter` converts them) at `--crf` with
each setting and prints the CPU milliseconds per frame of the encoder (all its threads), the file
size and the mean luma PSNR of the decoded result against its input.
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks import heldout
from bgseg import video_io

SOURCE = heldout.DEFAULT_DATA / "videos" / "juggle.mp4"
BT709 = "colorprim=bt709:transfer=bt709:colormatrix=bt709"
SETTINGS = {"veryfast": ("veryfast", BT709),
            "veryfast me=dia:subme=1 (bgseg's)": ("veryfast", BT709 + ":me=dia:subme=1"),
            "veryfast rc-lookahead=5": ("veryfast", BT709 + ":rc-lookahead=5"),
            "superfast": ("superfast", BT709), "ultrafast": ("ultrafast", BT709)}


def _luma_psnr(sent, path):
    import av

    scores = []
    with av.open(str(path)) as container:
        for original, decoded in zip(sent, container.decode(video=0)):
            a = original.to_ndarray()[:original.height].astype(np.float64)
            b = decoded.to_ndarray()[:decoded.height].astype(np.float64)
            scores.append(10 * np.log10(255.0 ** 2 / max(np.mean((a - b) ** 2), 1e-12)))
    return float(np.mean(scores))


def main(argv=None):
    import av

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--crf", type=int, default=23)
    args = parser.parse_args(argv)
    with video_io.VideoReader(SOURCE) as reader:  # as VideoWriter converts them
        frames = [av.VideoFrame.from_ndarray(f, format="rgb24").reformat(
            format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG")
            for _, f in zip(range(args.frames), reader)]
    print(f"{SOURCE.name}: {len(frames)} frames {frames[0].width}x{frames[0].height}, "
          f"crf {args.crf}")
    print("| setting | encode CPU ms / frame | bytes | luma PSNR dB |\n|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="bgseg-x264-") as folder:
        path = Path(folder) / "out.mp4"
        for name, (preset, params) in SETTINGS.items():
            with av.open(str(path), "w") as target:
                stream = target.add_stream("libx264", rate=25)
                stream.width, stream.height = frames[0].width, frames[0].height
                stream.pix_fmt, stream.thread_type = "yuv420p", "AUTO"
                stream.options = {"crf": str(args.crf), "preset": preset, "x264-params": params}
                cpu = time.process_time()
                for index, frame in enumerate(frames):
                    frame.pts = index
                    target.mux(stream.encode(frame))
                target.mux(stream.encode(None))
                cpu = time.process_time() - cpu
            print(f"| {name} | {1e3 * cpu / len(frames):.2f} | {os.path.getsize(path)} | "
                  f"{_luma_psnr(frames, path):.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
