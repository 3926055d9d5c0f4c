"""Images/s of `bgseg image` against `bgseg batch` (Apache Beam) on the same photos.

    python -m benchmarks.beam_throughput --images 120 --json docs/results/beam_throughput.json

Copies `--images` photos (from ../shared/data/coco_person when present, else resized copies of
examples/astronaut.jpg) into a temporary folder and times, end to end as a user runs them (process
start, model load and pipeline start-up included): `bgseg image` (one process, one interpreter),
`bgseg batch` on the DirectRunner in memory (one process, several threads) and in
multi-processing mode with `--direct_num_workers` 1, 2, ... (one interpreter per worker process).
Every run writes the same outputs (--blur 8, JPEG names kept). The marginal cost per image is
(time for N - time for 1) / (N - 1), so that start-up cancels out.
"""

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2


def photos(count, folder):
    source = Path("../shared/data/coco_person/val2017")
    paths = sorted(source.glob("*.jpg"))[:count] if source.is_dir() else []
    for i in range(count):
        target = folder / f"photo{i:04d}.jpg"
        if i < len(paths):
            shutil.copy(paths[i], target)
        else:
            image = cv2.imread("examples/astronaut.jpg")
            cv2.imwrite(str(target), cv2.resize(image, (640 - i % 7 * 16, 480)))
    return "coco_person" if paths else "astronaut copies"


def timed(command):
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def measure(label, args, folder, count, work):
    """Seconds for one photo (start-up) and for all, and the marginal seconds per image."""
    one = work / f"one_{label}"
    one.mkdir()
    (one / "photo.jpg").symlink_to(sorted(folder.iterdir())[0])
    t_one = timed([sys.executable, "-m", "bgseg", *args(one, work / f"out_one_{label}")])
    t_all = timed([sys.executable, "-m", "bgseg", *args(folder, work / f"out_all_{label}")])
    per_image = (t_all - t_one) / (count - 1)
    return {"run": label, "images": count, "seconds": round(t_all, 2),
            "images_per_s": round(count / t_all, 2),
            "marginal_ms_per_image": round(1e3 * per_image, 1), "one_image_s": round(t_one, 2)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=120)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bgseg-beam-bench-"))
    try:
        folder = work / "in"
        folder.mkdir()
        source = photos(args.images, folder)
        effect = ["--blur", "8"]
        runs = [measure("bgseg image", lambda i, o: ["image", str(i), "-o", str(o), *effect],
                        folder, args.images, work),
                measure("bgseg batch, DirectRunner in memory",
                        lambda i, o: ["batch", str(i), "-o", str(o), *effect], folder,
                        args.images, work)]
        for workers in args.workers:
            runs.append(measure(
                f"bgseg batch, DirectRunner multi_processing x{workers}",
                lambda i, o, w=workers: ["batch", str(i), "-o", str(o), *effect,
                                         f"--direct_num_workers={w}",
                                         "--direct_running_mode=multi_processing"],
                folder, args.images, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{args.images} photos ({source}), --blur 8, default_image model\n")
    print("| run | images/s (end to end) | marginal ms/image | one image, s |")
    print("|---|---|---|---|")
    for r in runs:
        print(f"| {r['run']} | {r['images_per_s']} | {r['marginal_ms_per_image']} | "
              f"{r['one_image_s']} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"photos": source, "runs": runs}, indent=2) + "\n")


if __name__ == "__main__":
    main()
