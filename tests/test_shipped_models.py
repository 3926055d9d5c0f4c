"""The default models shipped inside the package load offline by name, honour the I/O contract and
carry their metadata (the files are made by training/ship.sh)."""

import json

import numpy as np
import pytest

import bgseg
from bgseg.runtime import Segmenter, VideoSegmenter, registry


@pytest.mark.parametrize("name, kind, channels", [("default", VideoSegmenter, 4),
                                                  ("default_image", Segmenter, 3)])
def test_shipped_model_loads_by_name_and_segments(name, kind, channels):
    with bgseg.load(name) as seg:
        assert type(seg) is kind
        assert (seg.model.height, seg.model.width, seg.model.channels) == (256, 256, channels)
        frame = np.full((120, 200, 3), 128, np.uint8)
        frame[30:110, 80:120] = (200, 150, 120)
        mask = seg.segment(frame)
        assert mask.shape == (120, 200) and mask.dtype == np.float32
        assert 0.0 <= mask.min() <= mask.max() <= 1.0


@pytest.mark.parametrize("name", ["default", "default_image"])
def test_shipped_model_metadata_names_its_training_data(name):
    from bgseg.export.metadata import read_bgseg_metadata

    entries = json.loads((registry.ASSETS / "models.json").read_text())
    info = read_bgseg_metadata((registry.ASSETS / entries[name]["file"]).read_bytes())
    assert "celebamask" in info["training_data"] and "davis_train" in info["training_data"]
