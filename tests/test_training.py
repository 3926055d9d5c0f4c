"""Recipes, the run directory, and a tiny end-to-end fit + resume on generated folder data."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from bgseg.training.config import check_data_paths, load_recipe
from bgseg.training.trainer import RunDirError, prepare_run_dir
from tests.helpers import folder_dataset, recipe_file, tiny_recipe_model

TINY_MODEL = tiny_recipe_model()
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A 2-epoch run of a tiny model; returns (recipe path, run dir)."""
    from bgseg.training.trainer import train

    root = tmp_path_factory.mktemp("train")
    recipe_path = recipe_file(root / "tiny.json", folder_dataset(root / "data"))
    run_dir = root / "run"
    train(load_recipe(recipe_path), output=run_dir, verbose=0)
    return recipe_path, run_dir


def test_fit_writes_checkpoints_logs_and_plots(tiny_run):
    _, run_dir = tiny_run
    for name in ("best.keras", "last.keras", "state.json", "log.csv", "plots/loss.png",
                 "plots/epoch_001.png", "plots/epoch_002.png"):
        assert (run_dir / name).is_file(), name
    state = json.loads((run_dir / "state.json").read_text())
    assert state["epoch"] == 2 and state["finished"] and state["best"] is not None
    rows = (run_dir / "log.csv").read_text().splitlines()
    assert len(rows) == 3 and "val_IOU_calc_loss" in rows[0]
    grid = cv2.imread(str(run_dir / "plots" / "epoch_002.png"))
    assert grid.shape[1] == 4 * 32  # input | prev mask | truth | prediction


def test_resume_continues_from_last_epoch(tiny_run, tmp_path):
    import keras

    from bgseg.training.trainer import train

    recipe_path, finished = tiny_run
    run_dir = shutil.copytree(finished, tmp_path / "run")  # tiny_run stays a 2-epoch run
    before = keras.models.load_model(run_dir / "last.keras")
    steps_before = int(before.optimizer.iterations.numpy())
    train(load_recipe(recipe_path, epochs=3), output=run_dir, verbose=0)
    state = json.loads((run_dir / "state.json").read_text())
    assert state["epoch"] == 3 and len(state["epoch_seconds"]) == 3
    rows = (run_dir / "log.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["0", "1", "2"]
    after = keras.models.load_model(run_dir / "last.keras")
    assert int(after.optimizer.iterations.numpy()) == steps_before + 2  # optimizer state carried on


def test_other_recipe_refused_unless_overwrite(tiny_run, tmp_path):
    recipe_path, run_dir = tiny_run
    other = load_recipe(recipe_path, lr=0.5)
    with pytest.raises(RunDirError, match="different recipe"):
        prepare_run_dir(run_dir, other)
    same = load_recipe(recipe_path, epochs=3)
    assert prepare_run_dir(run_dir, same)["epoch"] >= 2
    repeat = load_recipe(recipe_path, seed=1)  # `bgseg train --seed 1`: another run
    assert repeat.seed == 1
    with pytest.raises(RunDirError, match="different recipe"):
        prepare_run_dir(run_dir, repeat)
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(RunDirError, match="not a bgseg run"):
        prepare_run_dir(tmp_path, same)


def test_recipe_validation(tmp_path):
    with pytest.raises(ValueError, match="unknown recipe field"):
        load_recipe(recipe_file(tmp_path / "a.json", tmp_path, lerning_rate=1))
    with pytest.raises(ValueError, match="loss"):
        load_recipe(recipe_file(tmp_path / "b.json", tmp_path, loss="dice"))
    with pytest.raises(FileNotFoundError, match="nope.json"):
        load_recipe(tmp_path / "nope.json")


RECIPES = sorted((ROOT / "training").glob("*.json"))
OWN_DATA = ("runs/", "my_images")  # made by a documented command / the user's own folder


@pytest.mark.parametrize("path", RECIPES, ids=[p.stem for p in RECIPES])
def test_every_recipe_parses(path):
    recipe = load_recipe(path)
    # data paths are relative to the repository root and point at the shared data (or the user's
    # own folders), never copies in the repository
    assert recipe.sources and all(s.path.startswith(("../shared/data/", *OWN_DATA))
                                  for s in recipe.sources)
    assert all(b.startswith("../shared/data/backgrounds/") for b in recipe.augment.backgrounds)
    assert recipe.name == path.stem  # runs/<name>/ is named after the file


def test_missing_data_fails_fast_and_leaves_no_run_folder(tmp_path, monkeypatch):
    """`bgseg train` on a recipe whose data is absent: one line, exit 2, no runs/<name>/, and
    TensorFlow is never imported (the check runs first)."""
    monkeypatch.chdir(tmp_path)  # ../shared/data and my_images do not exist from here
    recipe = str(ROOT / "training" / "selfie_video.json")
    code = ("import sys\nfrom bgseg.cli import main\n"
            f"print('exit', main(['train', '--config', {recipe!r}]))\n"
            "print('tensorflow' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, cwd=tmp_path)
    assert result.stdout.split() == ["exit", "2", "False"], result.stderr
    assert "data source 'coco_person': path not found: ../shared/data/coco_person" in \
        result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_background_folder_checked_before_the_run_folder(tmp_path):
    path = recipe_file(tmp_path / "r.json", folder_dataset(tmp_path / "data"),
                       augment={"background_prob": 0.3, "backgrounds": [str(tmp_path / "bg")]})
    with pytest.raises(FileNotFoundError, match="background folder not found: .*bg"):
        check_data_paths(load_recipe(path))


@pytest.mark.slow
def test_own_images_recipe_trains_on_a_folder(tmp_path, monkeypatch):
    """The documented recipe for one's own photos (docs/training.md), 1 short epoch."""
    from bgseg.training.trainer import train

    folder_dataset(tmp_path / "my_images")
    monkeypatch.chdir(tmp_path)
    recipe = load_recipe(ROOT / "training" / "own_images.json", epochs=1, images_per_epoch=8,
                         batch_size=4, val_images=4)
    run_dir = train(recipe, output=tmp_path / "runs" / "own_images", verbose=0)
    assert (run_dir / "best.keras").is_file() and (run_dir / "state.json").is_file()


def test_cli_reports_bad_recipe(tmp_path, capsys):
    import argparse

    from bgseg.commands import train

    parser = argparse.ArgumentParser()
    train.add_arguments(parser)
    assert train.run(parser.parse_args(["--config", str(tmp_path / "missing.json")])) == 2
    assert "missing.json" in capsys.readouterr().err


def test_init_from_seeds_an_image_twin_from_the_video_run(tiny_run, tmp_path):
    import keras

    from bgseg.training.trainer import train

    recipe_path, run_dir = tiny_run
    data = json.loads(recipe_path.read_text())["sources"][0]["path"]
    image_model = {**TINY_MODEL, "input_shape": [32, 32, 3]}
    path = recipe_file(tmp_path / "twin.json", data, name="twin", epochs=1,
                        model_kwargs=image_model, init_from=str(run_dir / "best.keras"),
                        plot_images=0)
    logs = []
    train(load_recipe(path), output=tmp_path / "twin", verbose=0, log=logs.append)
    assert any("initialised from" in line and "stem_conv" in line for line in logs)
    assert keras.models.load_model(tmp_path / "twin" / "best.keras").input_shape[-1] == 3
    plots = sorted(p.name for p in (tmp_path / "twin" / "plots").iterdir())
    assert plots == ["loss.png"]  # plot_images 0: curves only
    with pytest.raises(FileNotFoundError, match="init_from: .*missing.keras. is neither a .keras"):
        train(load_recipe(path, init_from=str(tmp_path / "missing.keras")),
              output=tmp_path / "other", verbose=0)
