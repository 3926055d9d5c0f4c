"""Recipes, the run directory, and a tiny end-to-end fit + resume on generated folder data."""

import json

import cv2
import pytest

from bgseg.training.config import load_recipe
from bgseg.training.trainer import RunDirError, prepare_run_dir
from tests.helpers import folder_dataset, recipe_file, tiny_recipe_model

TINY_MODEL = tiny_recipe_model()


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


def test_resume_continues_from_last_epoch(tiny_run):
    import keras

    from bgseg.training.trainer import train

    recipe_path, run_dir = tiny_run
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


@pytest.mark.parametrize(
    "name", ["selfie_video", "default_video", "default_video_finetune", "default_video_distractor",
             "default_image", "coco_person"])
def test_shipped_recipes_parse(name):
    from pathlib import Path

    recipe = load_recipe(Path(__file__).resolve().parents[1] / "training" / f"{name}.json")
    # data paths are relative to the repository root and point at the shared data, never copies
    assert recipe.sources and all(s.path.startswith("../shared/data/") for s in recipe.sources)
    assert all(b.startswith("../shared/data/backgrounds/") for b in recipe.augment.backgrounds)


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
