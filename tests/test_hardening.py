"""Issue 22's failure paths 5-7 (bad options, install hints, `bgseg train` without data): each
has a regression test here, on generated data only."""

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from bgseg import install
from bgseg.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def image_model(tiny_tflite):
    return str(tiny_tflite(3, "float32"))


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "p.png"
    cv2.imwrite(str(path), np.full((32, 48, 3), 90, np.uint8))
    return path


# 5. bad option values are refused before any work, in one line, with nothing written
@pytest.mark.parametrize("flags, message", [
    (["--blur", "1e9"], "--blur must be in (0, 1000] pixels, got 1e+09"),
    (["--blur", "0"], "--blur must be in (0, 1000] pixels, got 0"),
    (["--max-pixels", "0"], "--max-pixels must be >= 1, got 0"),
    (["--max-pixels", "-5"], "--max-pixels must be >= 1, got -5"),
])
def test_image_option_out_of_range(tmp_path, photo, image_model, capsys, flags, message):
    out = tmp_path / "out.png"
    assert main(["image", str(photo), "-o", str(out), "--model", image_model, *flags]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"bgseg: error: {message}" and not out.exists()


def test_blur_at_the_limit_runs(tmp_path, photo, image_model):
    out = tmp_path / "out.png"
    assert main(["image", str(photo), "-o", str(out), "--model", image_model,
                 "--blur", "1000"]) == 0
    assert out.is_file()


def test_batch_refuses_options_neither_it_nor_beam_knows(tmp_path, photo, capsys):
    pytest.importorskip("apache_beam")
    out = tmp_path / "out"
    assert main(["batch", str(photo), "-o", str(out), "--bogus-option=1",
                 "--direct_num_workers=1"]) == 2
    err = capsys.readouterr().err
    assert "unrecognized arguments (neither bgseg batch nor Beam options): --bogus-option=1" \
        in err and "direct_num_workers" not in err
    assert not out.exists()


def test_batch_max_pixels_zero(tmp_path, photo, capsys):
    pytest.importorskip("apache_beam")
    assert main(["batch", str(photo), "-o", str(tmp_path / "out"), "--max-pixels", "0"]) == 2
    assert "--max-pixels must be >= 1, got 0" in capsys.readouterr().err


def _image_with_model_file(tmp_path, photo, capsys, name, content):
    """`bgseg image` with `--model` a file `name` holding `content`: (exit code, stderr, path)."""
    model = tmp_path / name
    model.write_bytes(content)
    code = main(["image", str(photo), "-o", str(tmp_path / "o.png"), "--model", str(model)])
    return code, capsys.readouterr().err, model


def test_a_keras_model_names_bgseg_export(tmp_path, photo, capsys):
    code, err, keras_file = _image_with_model_file(tmp_path, photo, capsys, "m.keras",
                                                   b"PK\x03\x04 not a flatbuffer")
    assert code == 2
    assert "not a loadable TFLite model" in err
    assert f"make one with: bgseg export {keras_file} -o model.tflite" in err


def test_a_broken_tflite_has_no_export_hint(tmp_path, photo, capsys):
    code, err, _ = _image_with_model_file(tmp_path, photo, capsys, "m.tflite",
                                          b"not a flatbuffer")
    assert code == 2
    assert "not a loadable TFLite model" in err and "bgseg export" not in err


def test_video_loop_example_without_a_clip(tmp_path):
    example = ROOT / "examples" / "video_loop.py"
    bare = subprocess.run([sys.executable, str(example)], capture_output=True, text=True,
                          timeout=120)
    assert bare.returncode == 1 and "usage:" in bare.stderr and "Traceback" not in bare.stderr
    missing = subprocess.run([sys.executable, str(example), str(tmp_path / "none.mp4")],
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 1 and "none.mp4: no such file" in missing.stderr
    assert "Traceback" not in missing.stderr


# 6. the install hint fits the install
def test_install_hint_from_a_clone_and_from_the_index(monkeypatch):
    assert install.from_source_tree()  # the tests run from the repository
    assert install.install_command("train") == 'pip install -e ".[train]"'
    monkeypatch.setattr(install, "from_source_tree", lambda: False)
    assert install.install_command("beam") == 'pip install "bgseg[beam]"'


# no import-time side effects
def test_importing_the_training_pipeline_keeps_opencv_threads():
    code = ("import cv2\ncv2.setNumThreads(3)\nimport bgseg.data.pipeline\n"
            "print(cv2.getNumThreads())")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.stdout.split() == ["3"], result.stderr


def test_heldout_readers_take_their_splits_without_a_global(tmp_path):
    from benchmarks import heldout
    from bgseg.data.split import split_of
    from tests.helpers import folder_dataset

    root = folder_dataset(tmp_path / "set", n=40)
    read = {s: [key for key, _, _ in heldout.folder_pairs(root, splits=heldout.splits_of(s))]
            for s in ("val", "test", "both")}
    assert read["val"] and read["test"] and not set(read["val"]) & set(read["test"])
    assert sorted(read["val"] + read["test"]) == read["both"]
    assert all(split_of(key) == "val" for key in read["val"])
    assert heldout.HELD_OUT == ("val", "test")  # nothing was rewritten


def test_every_third_party_import_of_bgseg_is_declared():
    """Each package bgseg imports comes from a distribution named in setup.cfg (core or an
    extra), so a clean install never fails on an undeclared one (flatbuffers was)."""
    import ast
    import configparser
    import importlib.metadata
    import re

    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    lines = config["options"]["install_requires"].splitlines()
    lines += [line for value in config["options.extras_require"].values()
              for line in value.splitlines()]
    declared = {re.split(r"[<>=!\[ ;]", line.strip())[0].lower().replace("_", "-")
                for line in lines if line.strip() and not line.strip().startswith("%")}
    owners = importlib.metadata.packages_distributions()
    undeclared = {}
    for path in (ROOT / "bgseg").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for top in {name.split(".")[0] for name in names}:
                dists = {d.lower().replace("_", "-") for d in owners.get(top, [])}
                if top != "bgseg" and dists and not dists & declared:
                    undeclared.setdefault(top, set()).add(path.relative_to(ROOT).as_posix())
    assert not undeclared, undeclared


# 7. bgseg export is quiet by default: no TensorFlow/absl log lines, only its own summary
def test_export_prints_no_tensorflow_log_lines(tmp_path):
    from tests.helpers import tiny_hourglass

    tiny_hourglass(32, 4).save(tmp_path / "m.keras")
    out = tmp_path / "m.tflite"
    result = subprocess.run([sys.executable, "-m", "bgseg", "export", str(tmp_path / "m.keras"),
                             "-o", str(out), "--mode", "float32"], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0 and out.is_file(), result.stderr
    assert result.stderr == ""  # was: absl's pre-init notice, oneDNN, CUDA, `E0000 ... cuInit`
    assert "GPU delegate check passed" in result.stdout
    again = subprocess.run([sys.executable, "-m", "bgseg", "export", str(tmp_path / "m.keras"),
                            "-o", str(out), "--mode", "float32"], capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 1 and again.stderr == f"bgseg: error: {out} exists (use " \
        "--overwrite)\n"  # bgseg's own errors still reach stderr


def test_beam_model_cache_is_keyed_by_url_and_version(tmp_path, monkeypatch):
    pytest.importorskip("apache_beam")
    import io as stdio

    from apache_beam.io.filesystem import FileMetadata, MatchResult

    from bgseg.beam import handler

    remote = {"gs://a/model.tflite": b"model A", "gs://b/model.tflite": b"model B"}
    stamps = {url: 1.0 for url in remote}

    def match(patterns, limits=None):
        return [MatchResult(p, [FileMetadata(p, len(remote[p]), stamps[p])]) for p in patterns]

    monkeypatch.setattr(handler.tempfile, "gettempdir", lambda: str(tmp_path))
    monkeypatch.setattr(handler.FileSystems, "match", match)
    monkeypatch.setattr(handler.FileSystems, "open", lambda url: stdio.BytesIO(remote[url]))
    a, b = (handler.local_model_path(url) for url in remote)
    assert a != b and Path(a).read_bytes() == b"model A" and Path(b).read_bytes() == b"model B"
    assert handler.local_model_path("gs://a/model.tflite") == a  # fetched once
    remote["gs://a/model.tflite"], stamps["gs://a/model.tflite"] = b"model A2", 2.0
    changed = handler.local_model_path("gs://a/model.tflite")
    assert changed != a and Path(changed).read_bytes() == b"model A2"
    assert Path(changed).name == "model.tflite"  # messages still name the file


def test_models_import_nothing_above_them():
    """The data flow runs one way (docs/architecture.md): bgseg.models never imports training,
    export, the CLI or Beam (weight transfer and model-source resolution live in models/)."""
    import ast

    above = ("bgseg.training", "bgseg.export", "bgseg.commands", "bgseg.cli", "bgseg.beam")
    found = []
    for path in sorted((ROOT / "bgseg" / "models").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            found += [f"{path.name}: {n}" for n in names if n.startswith(above)]
    assert found == []


def test_architecture_lists_every_module():
    text = (ROOT / "docs" / "architecture.md").read_text()
    modules = text[text.index("## Modules"):]
    missing = [p.relative_to(ROOT / "bgseg").as_posix()
               for p in sorted((ROOT / "bgseg").rglob("*.py"))
               if "schema" not in p.parts and f"`{p.name}`" not in modules]
    assert missing == []


def test_every_mutation_check_still_finds_the_line_it_breaks():
    """`python tests/mutations.py` skips a break whose text is gone ("not applied"): a refactor
    must carry its mutation along, or the table silently checks less."""
    from tests.mutations import BREAKS

    root = Path(__file__).resolve().parents[1]
    stale = [label for label, path, old, _, _ in BREAKS if old not in (root / path).read_text()]
    assert not stale, f"mutations whose text is no longer in their file: {stale}"
