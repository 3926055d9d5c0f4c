"""`bgseg batch` on Beam's DirectRunner: same pixels as `bgseg image`/`bgseg video`, a dead-letter
row per bad file, reruns that skip everything already written."""

import json
import sys

import cv2
import numpy as np
import pytest

pytest.importorskip("apache_beam")

from bgseg.cli import main  # noqa: E402
from tests.helpers import PHOTO  # noqa: E402

GOOD_FORMATS = (".jpg", ".png", ".bmp", ".webp")
BAD_FILES = {  # name -> (stage, words of the reason)
    "text.jpg": ("decode", "not an image"),
    "empty.png": ("decode", "empty file"),
    "cut.jpg": ("decode", "truncated"),
    "notes.txt": ("plan", "not an image or video"),
}


def photo(seed, size):
    """A person photo (the astronaut) cropped, flipped and resized differently per seed."""
    image = cv2.imread(str(PHOTO))
    rng = np.random.default_rng(seed)
    top, left = rng.integers(0, 80, 2)
    image = image[top:top + 430, left:left + 430]
    if seed % 2:
        image = image[:, ::-1]
    return cv2.resize(np.ascontiguousarray(image), size, interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """16 good images (four formats, a subfolder, odd sizes), 4 bad files, one short video."""
    root = tmp_path_factory.mktemp("beam_in")
    good = []
    for i in range(16):
        folder = root / "sub" if i % 5 == 0 else root
        folder.mkdir(exist_ok=True)
        path = folder / f"photo{i:02d}{GOOD_FORMATS[i % 4]}"
        cv2.imwrite(str(path), photo(i, (160 + 17 * i, 200 - 3 * i)))
        good.append(path)
    (root / "text.jpg").write_text("not a picture")
    (root / "empty.png").write_bytes(b"")
    (root / "cut.jpg").write_bytes((root / "photo04.jpg").read_bytes()[:600])
    (root / "notes.txt").write_text("hello")
    video = root / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (128, 96))
    for t in range(6):
        writer.write(np.roll(photo(0, (128, 96)), 4 * t, axis=1))
    writer.release()
    return root, good, video


def batch(*args):
    return main(["batch", *map(str, args)])


@pytest.fixture(scope="module")
def first_run(inputs, tmp_path_factory):
    root, _, _ = inputs
    out = tmp_path_factory.mktemp("beam_out") / "out"
    code = batch(root, "-o", out, "--blur", "6")
    return out, code


def test_outputs_equal_bgseg_image(inputs, first_run, tmp_path):
    root, good, _ = inputs
    out, code = first_run
    assert code == 1  # bad files were found
    reference = tmp_path / "ref"
    assert main(["image", *map(str, good), "-o", str(reference), "--blur", "6"]) == 0
    for path in good:
        relative = path.relative_to(root)
        produced = cv2.imread(str(out / relative), cv2.IMREAD_UNCHANGED)
        expected = cv2.imread(str(reference / path.name), cv2.IMREAD_UNCHANGED)
        assert produced is not None, relative
        assert produced.shape == expected.shape
        assert np.array_equal(produced, expected), relative
        # and the effect was applied: the blurred background differs from the input photo
        original = cv2.imread(str(path))
        assert np.abs(produced.astype(int) - original).mean() > 1.0, relative


def test_one_dead_letter_row_per_bad_file(inputs, first_run):
    out, _ = first_run
    rows = [json.loads(line) for line in (out / "_bgseg_failed.jsonl").read_text().splitlines()]
    by_name = {row["path"].rsplit("/", 1)[-1]: row for row in rows}
    assert sorted(by_name) == sorted(BAD_FILES)
    for name, (stage, words) in BAD_FILES.items():
        assert by_name[name]["stage"] == stage
        assert words in by_name[name]["reason"]
    written = {p.name for p in out.rglob("*") if p.is_file()}
    assert not written & set(BAD_FILES)


def test_video_equals_bgseg_video(inputs, first_run, tmp_path):
    _, _, video = inputs
    out, _ = first_run
    reference = tmp_path / "ref.mp4"
    assert main(["video", str(video), "-o", str(reference), "--blur", "6"]) == 0

    def frames(path):
        capture, result = cv2.VideoCapture(str(path)), []
        while True:
            ok, frame = capture.read()
            if not ok:
                return np.array(result)
            result.append(frame)

    produced, expected = frames(out / "clip.mp4"), frames(reference)
    assert produced.shape == expected.shape == (6, 96, 128, 3)
    assert np.array_equal(produced, expected)


def test_rerun_skips_everything(inputs, first_run, capsys):
    root, good, _ = inputs
    out, _ = first_run
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.suffix != ".jsonl"}
    capsys.readouterr()
    assert batch(root, "-o", out, "--blur", "6", "--json") == 1
    summary = json.loads(capsys.readouterr().out)
    assert summary["processed"] == 0
    assert summary["skipped"] == len(good) + 1  # and the video
    assert summary["failed"] == len(BAD_FILES)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.suffix != ".jsonl"} == before


def test_alpha_default_keeps_names_and_makes_png(inputs, tmp_path):
    root, good, _ = inputs
    out = tmp_path / "alpha"
    assert batch(good[1], good[2], "-o", out) == 0
    for path in good[1:3]:
        written = cv2.imread(str(out / path.with_suffix(".png").name), cv2.IMREAD_UNCHANGED)
        assert written.shape[2] == 4 and written[..., 3].min() < 50 < written[..., 3].max()


def test_pattern_matching_nothing_is_an_error(tmp_path, capsys):
    assert batch(tmp_path / "*.jpg", "-o", tmp_path / "out") == 2
    assert "no file matches" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_unknown_options_are_refused_outside_batch(capsys):
    with pytest.raises(SystemExit):
        main(["image", "x.jpg", "-o", "y.png", "--direct_num_workers=2"])
    assert "unrecognized arguments" in capsys.readouterr().err


def test_missing_beam_gives_the_install_hint(monkeypatch, capsys, tmp_path):
    for name in [m for m in sys.modules if m == "bgseg.beam" or m.startswith("bgseg.beam.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.delattr(sys.modules["bgseg"], "beam", raising=False)
    monkeypatch.setitem(sys.modules, "apache_beam", None)  # import fails as if not installed
    assert batch(tmp_path / "*.jpg", "-o", tmp_path / "out") == 2
    assert 'pip install -e ".[beam]"' in capsys.readouterr().err  # from a clone


def test_unknown_model_fails_before_the_pipeline(inputs, tmp_path, capsys):
    _, good, _ = inputs
    assert batch(good[0], "-o", tmp_path / "out", "--model", "no_such_model") == 2
    assert "no_such_model" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_runner_option_errors_are_one_line(inputs, tmp_path, capsys):
    _, good, _ = inputs
    assert batch(good[0], "-o", tmp_path / "out", "--runner", "DataflowRunner") == 2
    err = capsys.readouterr().err
    assert "DataflowRunner could not start the pipeline" in err and "Traceback" not in err
