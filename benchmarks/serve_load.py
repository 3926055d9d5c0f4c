"""A bounded load test of `bgseg serve` on localhost, against `bgseg image` on the same files.

    python -m benchmarks.serve_load [--requests 500] [--clients 16] [--files 50] [--size 512]

The files are held-out `celebamask` and `ccp` photos (`benchmarks.heldout`), scaled to `--size`
pixels on the long side and saved as JPEG in a temporary folder (random images when the data is
absent). The server (a subprocess, default image model, `--concurrency` slots) gets `--requests`
POST /v1/remove from `--clients` concurrent clients cycling over the files; reported: requests/s,
p50/p95/p99 latency, errors (non-200 answers or answers not byte-identical to `bgseg image`'s file)
and the server's peak resident memory. Then `bgseg image` (one process, sequential) runs on the
same files: images/s and peak memory. Localhost only; nothing is left running.
"""

import argparse
import concurrent.futures
import resource
import socket
import subprocess
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

import cv2
import numpy as np

from benchmarks.heldout import DEFAULT_DATA, folder_pairs


def _photos(count, size, folder):
    """`count` JPEG files of at most `size` pixels on the long side."""
    def sources():
        for dataset in ("celebamask", "ccp"):
            try:
                for _, image, _ in folder_pairs(DEFAULT_DATA / dataset, count):
                    yield image
            except FileNotFoundError:
                continue
        rng = np.random.default_rng(0)
        while True:
            yield rng.integers(0, 255, (size, size * 3 // 4, 3), dtype=np.uint8)

    paths = []
    for i, image in enumerate(islice(sources(), count)):
        scale = size / max(image.shape[:2])
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        paths.append(folder / f"{i:03d}.jpg")
        cv2.imwrite(str(paths[-1]), image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return paths


def _peak_mb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _serve(port, concurrency):
    process = subprocess.Popen([sys.executable, "-m", "bgseg", "serve", "--port", str(port),
                                "--concurrency", str(concurrency)])
    import httpx

    for _ in range(600):
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz")
            return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("bgseg serve did not start within 60 s")


def main(argv=None):
    import httpx

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--concurrency", type=int, default=2, help="the server's slots")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "in").mkdir()
        files = _photos(args.files, args.size, folder / "in")
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "bgseg", "image", str(folder / "in"), "-o",
                        str(folder / "out"), "--format", "png"], check=True)
        cli_seconds = time.perf_counter() - start
        cli_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        expected = {p: (folder / "out" / p.with_suffix(".png").name).read_bytes() for p in files}
        bodies = {p: p.read_bytes() for p in files}

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = _serve(port, args.concurrency)
        try:
            clients = [httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
                       for _ in range(args.clients)]

            def one(i):
                path = files[i % len(files)]
                began = time.perf_counter()
                answer = clients[i % args.clients].post("/v1/remove?format=png",
                                                        content=bodies[path])
                ok = answer.status_code == 200 and answer.content == expected[path]
                return time.perf_counter() - began, ok

            start = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(args.clients) as pool:
                results = list(pool.map(one, range(args.requests)))
            wall = time.perf_counter() - start
            server_peak = _peak_mb(server.pid)
        finally:
            server.terminate()
            server.wait(30)
    latencies = np.array([r[0] for r in results]) * 1000
    errors = sum(not r[1] for r in results)
    p50, p95, p99 = np.percentile(latencies, [50, 95, 99])
    print(f"{len(files)} files of <= {args.size} px, {args.requests} requests, {args.clients} "
          f"clients, server concurrency {args.concurrency}")
    print("| run | images/s | p50 ms | p95 ms | p99 ms | errors | peak memory MB |")
    print("|---|---|---|---|---|---|---|")
    print(f"| bgseg serve | {args.requests / wall:.1f} | {p50:.0f} | {p95:.0f} | {p99:.0f} | "
          f"{errors} | {server_peak:.0f} |")
    print(f"| bgseg image (one process, incl. start-up) | {len(files) / cli_seconds:.1f} | | | "
          f"| 0 | {cli_peak:.0f} |")


if __name__ == "__main__":
    main()
