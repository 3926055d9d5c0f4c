"""Two encoded videos decoded to RGB and compared frame by frame.

    python -m benchmarks.video_diff /tmp/o.mp4 /tmp/o_before.mp4

Prints the frame counts, whether every presentation timestamp matches, each file's colorspace tag,
the PSNR of the decoded frames (min and mean, dB) and their largest pixel difference. Each file is
decoded with its own colour tags, as a player does.
"""

import argparse

import av
import numpy as np

from benchmarks.composite_psnr import psnr


def decoded(path):
    """([(pts, RGB frame)], colorspace tag) of a video file."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [(f.pts, f.to_ndarray(format="rgb24")) for f in container.decode(stream)]
        return frames, stream.codec_context.colorspace


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("first")
    parser.add_argument("second")
    args = parser.parse_args(argv)
    (first, tag_a), (second, tag_b) = decoded(args.first), decoded(args.second)
    pairs = list(zip(first, second))
    if not pairs:
        raise SystemExit("no frames to compare")
    same_times = [t for t, _ in first] == [t for t, _ in second]
    scores = [psnr(a, b) for (_, a), (_, b) in pairs]
    worst = max(int(np.abs(a.astype(np.int16) - b).max()) for (_, a), (_, b) in pairs)
    print(f"{len(first)} / {len(second)} frames; timestamps {'equal' if same_times else 'DIFFER'}; "
          f"colorspace {tag_a} / {tag_b}; PSNR min {min(scores):.1f} dB, mean "
          f"{np.mean(scores):.1f} dB; max abs diff {worst}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
