"""The models shipped inside the package load offline by name, find the person in a real photo,
match their pretrained Keras twins and carry their metadata (the files are made by
training/ship.sh).

The photo is `examples/astronaut.jpg` (public domain, in no training set): her face and suit must
be opaque and the wall beside her head transparent, which a constant or inverted model fails.
"""

import json

import cv2
import numpy as np
import pytest

import bgseg
from bgseg.io import read_image
from bgseg.runtime import Segmenter, VideoSegmenter, registry
from tests.helpers import PHOTO  # noqa: E402

SHIPPED = [("default", VideoSegmenter, 4, 256), ("default_image", Segmenter, 3, 256),
           ("mediapipe_selfie", Segmenter, 3, 256), ("quality", VideoSegmenter, 4, 384)]


def _regions(mask):
    """(person, background) mean probability on the 512x512 photo."""
    return mask[120:300, 180:260].mean(), mask[:60, 300:380].mean()


@pytest.mark.parametrize("name, kind, channels, side", SHIPPED)
def test_shipped_model_finds_the_person_in_a_real_photo(name, kind, channels, side):
    photo = read_image(PHOTO)
    with bgseg.load(name) as seg:
        assert type(seg) is kind
        assert (seg.model.height, seg.model.width, seg.model.channels) == (side, side, channels)
        mask = seg.segment(photo)
        assert mask.shape == photo.shape[:2] and mask.dtype == np.float32
        person, background = _regions(mask)
        assert person > 0.9 and background < 0.1, (person, background)
        if kind is VideoSegmenter:  # the fed-back mask keeps her and settles, not spreading
            masks = [seg.segment(photo) for _ in range(6)]
            person, background = _regions(masks[-1])
            assert person > 0.9 and background < 0.1, (person, background)
            assert ((masks[-1] > 0.5) == (masks[-2] > 0.5)).mean() > 0.99


@pytest.mark.parametrize("name, pretrained", [("default", "default_video"),
                                              ("default_image", "default_image"),
                                              ("mediapipe_selfie", "mediapipe_selfie"),
                                              ("quality", "quality_video")])
def test_shipped_tflite_matches_its_pretrained_keras_model(name, pretrained):
    pytest.importorskip("keras")
    from bgseg.export.parity import compare
    from bgseg.models.pretrained import load_pretrained

    model = load_pretrained(pretrained)
    channels = model.input_shape[-1]
    side = model.input_shape[1]
    rgb = cv2.resize(read_image(PHOTO), (side, side),
                     interpolation=cv2.INTER_AREA) / np.float32(255)
    views = np.stack([rgb, rgb[:, ::-1], rgb * 0.6]).astype(np.float32)
    if channels == 4:
        views = np.concatenate([views, np.zeros(views.shape[:3] + (1,), np.float32)], axis=-1)
    data = registry.resolve_model(name).read_bytes()
    parity = compare(model, data, views)
    assert parity.within("float16"), parity


@pytest.mark.parametrize("name", ["default", "default_image", "mediapipe_selfie", "quality"])
def test_shipped_model_metadata_names_its_training_data(name):
    from bgseg.export.metadata import read_bgseg_metadata

    entries = json.loads((registry.ASSETS / "models.json").read_text())
    info = read_bgseg_metadata((registry.ASSETS / entries[name]["file"]).read_bytes())
    if name == "mediapipe_selfie":
        assert "unmodified" in info["training_data"] and "Apache-2.0" in info["training_data"]
    else:
        assert "celebamask" in info["training_data"] and "davis_train" in info["training_data"]


@pytest.mark.parametrize("name", ["default", "default_image", "mediapipe_selfie", "quality"])
def test_shipped_segmenter_metadata_is_the_golden_one(name):
    from bgseg.export import metadata as md
    from tests.test_export import expected_segmenter_metadata

    metadata = md.read_segmenter_metadata(registry.resolve_model(name).read_bytes())
    assert metadata == expected_segmenter_metadata(metadata["name"], metadata["description"])
