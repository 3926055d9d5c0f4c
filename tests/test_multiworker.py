"""Multi-worker training, proven: two local worker processes with TF_CONFIG on localhost ports run
MultiWorkerMirroredStrategy on a tiny recipe, end with identical weights, and only the chief writes
the run directory."""

import json
import os
import re
import socket
import subprocess
import sys

import pytest

from tests.helpers import folder_dataset, recipe_file

pytestmark = pytest.mark.slow


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_workers_end_with_identical_weights(tmp_path):
    import keras

    from bgseg.training.distributed import weights_digest

    recipe = recipe_file(tmp_path / "tiny.json", folder_dataset(tmp_path / "data"),
                          strategy="multiworker", images_per_epoch=32, model="selfie_256",
                          model_kwargs={"input_shape": [64, 64, 4]})  # no BatchNormalization
    run_dir = tmp_path / "run"
    cluster = {"worker": [f"localhost:{port}" for port in free_ports(2)]}
    workers = []
    for index in range(2):
        env = dict(os.environ, TF_CONFIG=json.dumps(
            {"cluster": cluster, "task": {"type": "worker", "index": index}}),
            CUDA_VISIBLE_DEVICES="", TMPDIR=str(tmp_path))
        log = open(tmp_path / f"worker{index}.log", "w")
        workers.append((subprocess.Popen(
            [sys.executable, "-m", "bgseg", "train", "--config", str(recipe), "--output",
             str(run_dir), "--quiet"], env=env, stdout=log, stderr=subprocess.STDOUT), log))
    logs = []
    for process, log in workers:
        try:
            code = process.wait(timeout=600)
        finally:
            process.kill()
            log.close()
        logs.append((tmp_path / f"worker{len(logs)}.log").read_text())
        assert code == 0, logs[-1][-3000:]
    digests = [re.search(r"weights sha256 ([0-9a-f]{64})", text).group(1) for text in logs]
    assert "val_IOU_calc_loss" in logs[0]  # it trained and validated
    assert digests[0] == digests[1]
    assert "worker 1 of 2: the chief writes" in logs[1]
    state = json.loads((run_dir / "state.json").read_text())
    assert state["epoch"] == 2 and state["finished"]
    saved = keras.models.load_model(run_dir / "last.keras", compile=False)
    assert weights_digest(saved) == digests[0]
    assert not list(tmp_path.glob("bgseg-worker-*"))  # the worker's temporary checkpoints are gone
