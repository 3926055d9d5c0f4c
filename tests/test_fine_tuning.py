"""Fine-tuning from pretrained weights: model sources checked first, split control, freezing,
on-policy priors, distillation targets and a short fine-tune that learns and exports."""

import json

import cv2
import numpy as np
import pytest

keras = pytest.importorskip("keras")

from bgseg.data.sources import SourceSpec  # noqa: E402
from bgseg.training.config import load_recipe  # noqa: E402
from bgseg.training.trainer import _phases, set_frozen, train  # noqa: E402

SIZE = 64


def _folder(root, n=24, seed=0):
    """Generated photos: a skin-coloured ellipse ("person") on textured noise, and its mask."""
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    rng = np.random.default_rng(seed)
    for i in range(n):
        image = rng.integers(0, 120, (80, 72, 3), dtype=np.uint8)
        mask = np.zeros((80, 72), np.uint8)
        center = (int(rng.integers(20, 52)), int(rng.integers(25, 55)))
        cv2.ellipse(mask, center, (14, 22), 0, 0, 360, 255, -1)
        image[mask > 0] = (90, 140, 210)
        cv2.imwrite(str(root / "images" / f"p{seed}_{i:03d}.jpg"), image)
        cv2.imwrite(str(root / "masks" / f"p{seed}_{i:03d}.png"), mask)
    return root


def _recipe(path, sources, **fields):
    recipe = {"name": "ft", "model": "selfie_256", "model_kwargs": {"input_shape": [SIZE, SIZE, 4]},
              "init_from": "mediapipe_selfie", "epochs": 1, "images_per_epoch": 16,
              "batch_size": 8, "val_images": 8, "plot_images": 0, "lr": 3e-4, "loss": "bce_iou",
              "sources": sources, **fields}
    path.write_text(json.dumps(recipe))
    return load_recipe(path)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("ft")
    return _folder(root / "train", seed=0), _folder(root / "val", n=8, seed=1)


def test_bad_model_sources_fail_before_any_data_loads(tmp_path):
    missing_data = [{"type": "folder", "path": str(tmp_path / "no_such_data")}]
    with pytest.raises(FileNotFoundError, match="init_from: 'no_such_name' is neither"):
        train(_recipe(tmp_path / "a.json", missing_data, init_from="no_such_name"),
              output=tmp_path / "a", verbose=0)
    tflite = tmp_path / "model.tflite"
    tflite.write_bytes(b"TFL3")
    with pytest.raises(ValueError, match="is not a .keras model"):
        train(_recipe(tmp_path / "b.json", missing_data, init_from=str(tflite)),
              output=tmp_path / "b", verbose=0)
    with pytest.raises(FileNotFoundError, match="teacher"):
        train(_recipe(tmp_path / "c.json", missing_data, teacher="nope", distill=0.5),
              output=tmp_path / "c", verbose=0)


def test_sources_say_which_split_they_feed():
    assert SourceSpec("folder", "x", split="train").fractions() == (1.0, 0.0, 0.0)
    assert SourceSpec("folder", "x", split="val").fractions() == (0.0, 1.0, 0.0)
    assert SourceSpec("folder", "x", split={"train": 0.9, "val": 0.1}).fractions() == (
        0.9,
        0.1,
        0.0,
    )
    assert SourceSpec("folder", "x").fractions() == (0.7, 0.2, 0.1)
    for bad in ("test", {"train": 0.5}, {"train": 1.0, "holdout": 0.0}):
        with pytest.raises(ValueError, match="split must be"):
            SourceSpec("folder", "x", split=bad)


def test_freezing_phases_and_layers():
    from bgseg.models import build_model

    recipe_like = type("R", (), {"freeze_epochs": 2, "freeze_prefixes": ("enc",), "epochs": 5})
    assert _phases(recipe_like, 0) == [(0, 2, ("enc",)), (2, 5, ())]
    assert _phases(recipe_like, 3) == [(3, 5, ())]
    model = build_model("selfie", input_shape=(32, 32, 4))
    assert set_frozen(model, ("stem_", "enc"))
    frozen = {layer.name for layer in model.layers if layer.weights and not layer.trainable}
    assert "stem_conv" in frozen and "enc3_dw" in frozen and "segment" not in frozen
    assert not set_frozen(model, ("stem_", "enc"))  # nothing changes the second time
    with pytest.raises(ValueError, match="no layer .* starts with 'decoder'"):
        set_frozen(model, ("decoder",))


def test_on_policy_priors_come_from_the_policy_for_flagged_samples():
    import tensorflow as tf

    from bgseg.data.pipeline import distilled_targets, on_policy_priors

    inputs = keras.Input((8, 8, 4))
    policy = keras.Model(inputs, keras.layers.Conv2D(1, 1, activation="sigmoid")(inputs))
    rng = np.random.default_rng(0)
    x = rng.random((2, 8, 8, 9)).astype("float32")
    x[0, ..., 7], x[1, ..., 7] = 1.0, 0.0  # sample 0 on-policy, sample 1 not
    out = on_policy_priors(policy, tf.constant(x)).numpy()
    assert out.shape == (2, 8, 8, 4)
    np.testing.assert_allclose(out[..., :3], x[..., :3])
    expected = policy.predict(np.concatenate([x[:1, ..., 4:7], x[:1, ..., 3:4]], -1), verbose=0)
    np.testing.assert_allclose(out[0, ..., 3:], expected[0], atol=1e-6)
    np.testing.assert_allclose(out[1, ..., 3], x[1, ..., 3])
    y = np.ones((2, 8, 8, 1), "float32")
    teacher = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(
        1, 1, kernel_initializer="zeros", bias_initializer="zeros")])
    mixed = distilled_targets(teacher, tf.constant(out), tf.constant(y), 0.25).numpy()
    np.testing.assert_allclose(mixed, 0.75)


def test_temporal_targets_pull_steady_pixels_of_on_policy_samples_to_the_previous_prediction():
    import tensorflow as tf

    from bgseg.data.pipeline import temporal_targets

    x = np.zeros((2, 4, 4, 9), "float32")
    x[0, ..., 7] = 1.0               # sample 0 on-policy, sample 1 not
    x[:, :, :2, 8] = 1.0             # left half steady in both
    x4 = np.zeros((2, 4, 4, 4), "float32")
    x4[..., 3] = 0.2                 # the prediction on the previous frame
    y = np.ones((2, 4, 4, 1), "float32")
    out = temporal_targets(tf.constant(x), tf.constant(x4), tf.constant(y), 0.25).numpy()
    np.testing.assert_allclose(out[0, :, :2], 0.8)   # 0.75 * 1 + 0.25 * 0.2
    np.testing.assert_allclose(out[0, :, 2:], 1.0)   # the truth changed there: truth only
    np.testing.assert_allclose(out[1], 1.0)          # not on-policy: truth only


def test_temporal_needs_on_policy_and_a_weight_below_one_half():
    from bgseg.data.augment import AugmentConfig

    with pytest.raises(ValueError, match="needs augment.on_policy"):
        AugmentConfig(temporal=0.2)
    with pytest.raises(ValueError, match=r"must be in \[0, 0.5\)"):
        AugmentConfig(on_policy=0.5, temporal=0.5)


def test_sampler_emits_previous_frames_for_on_policy_samples(folders):
    from bgseg.data.augment import AugmentConfig
    from bgseg.data.folders import folder_items
    from bgseg.data.pipeline import Sampler
    from bgseg.data.sources import LoadedSource

    train_folder, _ = folders
    spec = SourceSpec("folder", str(train_folder), split="train")
    source = LoadedSource(spec, folder_items(train_folder), "train", 80)
    sampler = Sampler([source], [1.0], (SIZE, SIZE), 4, AugmentConfig(on_policy=1.0), seed=0)
    assert sampler.stream_channels == 9
    x, y = sampler.train_sample(0)
    assert x.shape == (SIZE, SIZE, 9) and (x[..., 7] == 1).all()
    # steady: this frame's truth and the previous frame's agree (most pixels, not all: it moved)
    assert 0.5 < x[..., 8].mean() < 1.0
    # the previous frame is a moved copy of this one, not the same picture and not noise
    rgb, prev = x[..., :3], x[..., 4:7]
    assert 0.0 < np.abs(rgb - prev).mean() < 0.2
    xv, _ = sampler.val_sample(source, 0)
    assert xv.shape == (SIZE, SIZE, 4)  # validation is the model's own input


def test_a_short_fine_tune_from_pretrained_learns_exports_and_runs(folders, tmp_path):
    from bgseg.export import QuantizationConfig, export_tflite
    from bgseg.runtime import load

    train_folder, val_folder = folders
    sources = [{"type": "folder", "path": str(train_folder), "split": "train"},
               {"type": "folder", "path": str(val_folder), "split": "val"}]
    recipe = _recipe(tmp_path / "ft.json", sources, epochs=3, images_per_epoch=32,
                     freeze_prefixes=["stem_", "enc"], freeze_epochs=1,
                     teacher="mediapipe_selfie", distill=0.2,
                     augment={"on_policy": 0.3, "photometric": False})
    run = train(recipe, output=tmp_path / "run", verbose=0)
    rows = (run / "log.csv").read_text().splitlines()[1:]
    losses = [float(r.split(",")[-1]) for r in rows]  # val_loss, last column
    assert len(losses) == 3 and losses[-1] < losses[0], losses
    tuned = keras.models.load_model(run / "best.keras", compile=False)
    result = export_tflite(tuned, tmp_path / "ft.tflite", QuantizationConfig.float16())
    frame = cv2.imread(str(next((val_folder / "images").iterdir())))
    with load(str(result.path), kind="video") as segmenter:
        masks = [segmenter.segment(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)) for _ in range(2)]
    assert masks[1].shape == frame.shape[:2]


def test_a_recipe_with_an_unknown_model_is_refused(tmp_path):
    path = tmp_path / "r.json"
    path.write_text(
        json.dumps({"model": "selfie_512", "sources": [{"type": "folder", "path": "x"}]})
    )
    with pytest.raises(ValueError, match="unknown model preset 'selfie_512'; known: .*selfie_256"):
        load_recipe(path)
