"""The shipped model names: one list (`models.json`) that the Keras weights (`pretrained.json`)
follow, and the release copies in `tflite/` identical to the packaged ones."""

import json
import re
from pathlib import Path

import pytest

from bgseg.runtime import TFLiteModel, registry

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = registry.shipped_models()
PRETRAINED = json.loads((registry.ASSETS / "pretrained.json").read_text())
ALIASES = {name: entry["alias_of"] for name, entry in SHIPPED.items() if "alias_of" in entry}


def test_one_set_of_names():
    assert ALIASES == {"default": "default_video", "quality": "quality_video"}
    assert set(SHIPPED) - set(ALIASES) == set(PRETRAINED)  # each .tflite has its .keras twin
    for alias, name in ALIASES.items():
        assert SHIPPED[alias]["file"] == SHIPPED[name]["file"]
        assert registry.model_name(alias) == name
    assert registry.model_name("mediapipe_selfie") == "mediapipe_selfie"
    assert registry.model_name("some/file.tflite") == "some/file.tflite"


@pytest.mark.parametrize("name", sorted(PRETRAINED))
def test_the_tflite_and_keras_of_a_name_are_one_model(name):
    from bgseg.models import get_preset

    preset = get_preset(PRETRAINED[name]["preset"])
    assert TFLiteModel(registry.resolve_model(name)).channels == preset.input_shape[2]
    assert Path(PRETRAINED[name]["file"]).stem == Path(SHIPPED[name]["file"]).stem == name


def test_an_alias_names_the_same_keras_weights():
    from bgseg.models.pretrained import is_pretrained_name, pretrained_path

    assert is_pretrained_name("default")
    assert pretrained_path("default") == pretrained_path("default_video")


def test_release_copies_are_the_packaged_files():
    """`training/ship.sh` copies each release file in `tflite/` to `bgseg/assets/`: the two stay
    byte-identical."""
    copies = re.findall(r"^cp (tflite/\S+\.tflite) (bgseg/assets/\S+\.tflite)$",
                        (ROOT / "training" / "ship.sh").read_text(), re.MULTILINE)
    assert {Path(packaged).name for _, packaged in copies} == {e["file"] for e in SHIPPED.values()}
    for release, packaged in copies:
        assert (ROOT / release).read_bytes() == (ROOT / packaged).read_bytes(), release
