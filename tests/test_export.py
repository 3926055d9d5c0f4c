"""Conversion modes (QAT included), parity, tensor names, overwrite safety, metadata, `bgseg
export`."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from bgseg.export import ExportError, GpuCompatibilityError, QuantizationConfig, export_tflite
from bgseg.export import metadata as md
from bgseg.export.parity import TOLERANCE, compare, tflite_predict
from bgseg.export.qat import builder_spec, training_pairs

SIZE = 32


def synthetic(n, channels=4, seed=0):
    """Images with a bright ellipse (the 'person') on noise; its mask is the target. The fourth
    channel is a shifted copy of the mask (a plausible previous mask)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:SIZE, :SIZE] / SIZE
    x = rng.uniform(0, 0.5, (n, SIZE, SIZE, channels)).astype("float32")
    y = np.zeros((n, SIZE, SIZE, 1), "float32")
    for i in range(n):
        cy, cx, ry, rx = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7), *rng.uniform(0.15, 0.3, 2)
        inside = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 < 1
        y[i, ..., 0] = inside
        x[i, inside, :3] += 0.5
        if channels == 4:
            x[i, ..., 3] = np.roll(inside, rng.integers(-2, 3), axis=1)
    return x, y


@pytest.fixture(scope="session")
def tiny_model():
    """A 32x32 4-channel hourglass trained for a few seconds on `synthetic` data."""
    import keras

    from bgseg.losses import bce_iou_loss
    from bgseg.models import build_model

    keras.utils.set_random_seed(0)
    model = build_model("hourglass", input_shape=(SIZE, SIZE, 4), encoder_filters=(16, 32, 64),
                        decoder_filters=16, name="tiny_hourglass")
    x, y = synthetic(256)
    model.compile(keras.optimizers.Adam(3e-3), bce_iou_loss())
    model.fit(x, y, batch_size=16, epochs=8, verbose=0)
    return model


@pytest.fixture(scope="session")
def exported(tiny_model, tmp_path_factory):
    """Every post-training mode exported once: {config.name: ExportResult}."""
    folder = tmp_path_factory.mktemp("export")
    calibration, _ = synthetic(32, seed=1)
    configs = [QuantizationConfig.float32(), QuantizationConfig.float16(),
               QuantizationConfig.dynamic(), QuantizationConfig.int8(representative_samples=32),
               QuantizationConfig.int8(io_type="uint8", representative_samples=32)]
    return {c.name: export_tflite(tiny_model, folder / f"{c.name}.tflite", c,
                                  representative_data=calibration,
                                  metadata={"training_data": "synthetic ellipses"})
            for c in configs}


def test_config_constructors_and_validation():
    assert QuantizationConfig.int8(io_type="uint8").name == "int8-uint8io"
    assert QuantizationConfig.qat(epochs=3).epochs == 3 and QuantizationConfig.qat().is_integer
    with pytest.raises(ValueError, match="unknown quantization mode"):
        QuantizationConfig("int4")
    with pytest.raises(ValueError, match="integer mode"):
        QuantizationConfig("float16", io_type="int8")
    with pytest.raises(ValueError, match="io_type"):
        QuantizationConfig.int8(io_type="int16")
    with pytest.raises(ValueError, match="qat mode"):
        QuantizationConfig("int8", prune_sparsity=0.5)


@pytest.mark.parametrize("name", ["float32", "float16", "dynamic", "int8", "int8-uint8io"])
def test_parity_per_mode(tiny_model, exported, name):
    result = exported[name]
    x, _ = synthetic(8, seed=2)
    parity = compare(tiny_model, result.path.read_bytes(), x)
    mode = name.split("-")[0]
    assert parity.within(mode), parity
    assert result.size_bytes == result.path.stat().st_size > 10_000
    report = result.gpu_report
    assert not report.problems, report.summary()
    # float files run wholly on the GPU delegate; full-integer files are CPU/NNAPI files
    assert report.ok == (mode in ("float32", "float16", "dynamic")), report.summary()


def test_quantized_files_are_smaller(exported):
    sizes = {name: r.size_bytes for name, r in exported.items()}
    assert sizes["float16"] < sizes["float32"] and sizes["dynamic"] < sizes["float32"]
    assert sizes["int8"] < sizes["float32"]


def test_io_contract_names_and_types(exported):
    from ai_edge_litert.interpreter import Interpreter

    for name, result in exported.items():
        interpreter = Interpreter(model_path=str(result.path))
        inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
        assert (inp["name"], out["name"]) == ("input", "mask")
        assert list(inp["shape"]) == [1, SIZE, SIZE, 4] and list(out["shape"]) == [1, SIZE, SIZE, 1]
        assert list(inp["shape_signature"]) == [1, SIZE, SIZE, 4]
        expected = np.uint8 if name == "int8-uint8io" else np.float32
        assert inp["dtype"] == out["dtype"] == expected
        assert interpreter.get_signature_list() == {
            "serving_default": {"inputs": ["input"], "outputs": ["mask"]}}
    assert any("UINT8" in reason for reason in exported["int8-uint8io"].gpu_report.cpu_only)


def test_metadata_entries(exported):
    data = exported["float16"].path.read_bytes()
    info = md.read_bgseg_metadata(data)
    assert info["contract_version"] == md.CONTRACT_VERSION
    assert (
        info["input"]["shape"] == [1, SIZE, SIZE, 4]
        and info["input"]["channels"][3] == "previous_mask"
    )
    assert (
        info["quantization"]["mode"] == "float16" and info["training_data"] == "synthetic ellipses"
    )
    assert md.associated_files(data) == [md.LABELS_FILE]
    assert json.loads(json.dumps(info)) == info


def expected_segmenter_metadata(name, description):
    """The golden MediaPipe metadata (tests/data), with a model's name and description."""
    from bgseg.version import __version__

    golden = json.loads((Path(__file__).parent / "data" / "segmenter_metadata.golden.json")
                        .read_text())
    return {**golden, "name": name, "description": description, "version": __version__}


def test_segmenter_metadata_whole(exported):
    """Every field of the MediaPipe metadata, read back with the schema, against the golden file
    (which equals what the released models carry and MediaPipe's ImageSegmenter accepts)."""
    metadata = md.read_segmenter_metadata(exported["float16"].path.read_bytes())
    assert metadata == expected_segmenter_metadata(metadata["name"], metadata["description"])


def test_never_overwrites(tiny_model, tmp_path):
    path = tmp_path / "model.tflite"
    path.write_bytes(b"user data")
    with pytest.raises(FileExistsError, match="overwrite"):
        export_tflite(tiny_model, path, QuantizationConfig.float32())
    assert path.read_bytes() == b"user data"
    export_tflite(tiny_model, path, QuantizationConfig.float32(), overwrite=True, metadata=False)
    assert path.read_bytes()[4:8] == b"TFL3" and md.read_bgseg_metadata(path.read_bytes()) is None
    assert [p.name for p in tmp_path.iterdir()] == ["model.tflite"]  # no temp files left


def test_int8_needs_representative_data(tiny_model, tmp_path):
    with pytest.raises(ValueError, match="representative_data"):
        export_tflite(tiny_model, tmp_path / "m.tflite", QuantizationConfig.int8())
    with pytest.raises(ValueError, match="must be"):
        export_tflite(tiny_model, tmp_path / "m.tflite", QuantizationConfig.int8(),
                      representative_data=np.zeros((2, 16, 16, 3), "float32"))
    assert not (tmp_path / "m.tflite").exists()


def test_int8_from_image_folder_adds_previous_mask(tiny_model, tmp_path):
    import cv2

    x, _ = synthetic(4, channels=3, seed=3)
    for i, image in enumerate(x):
        cv2.imwrite(str(tmp_path / f"{i}.png"), (image[..., ::-1] * 255).astype(np.uint8))
    result = export_tflite(tiny_model, tmp_path / "out" / "m.tflite",
                           QuantizationConfig.int8(representative_samples=4),
                           representative_data=tmp_path)
    assert not result.gpu_report.problems and result.path.is_file()


def test_rejects_models_outside_the_contract(tmp_path):
    import keras

    inputs = keras.Input((SIZE, SIZE, 2))
    model = keras.Model(inputs, keras.layers.Conv2D(1, 1)(inputs))
    with pytest.raises(ExportError, match="3 .RGB. or 4"):
        export_tflite(model, tmp_path / "m.tflite")
    inputs = keras.Input((None, None, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(1, 1)(inputs))
    with pytest.raises(ExportError, match="static"):
        export_tflite(model, tmp_path / "m.tflite")


def test_flex_ops_fail_loudly(tmp_path):
    import keras
    import tensorflow as tf

    class Determinant(keras.layers.Layer):  # MatrixDeterminant has no TFLite builtin kernel
        def call(self, x):
            det = tf.linalg.det(x[:, :2, :2, 0])
            return x[..., :1] * tf.reshape(det, (-1, 1, 1, 1))

    inputs = keras.Input((SIZE, SIZE, 3))
    model = keras.Model(inputs, Determinant()(inputs))
    with pytest.raises(ExportError, match="Flex|builtin"):
        export_tflite(model, tmp_path / "m.tflite", QuantizationConfig.float32())
    assert not (tmp_path / "m.tflite").exists()


def test_unsupported_gpu_op_refused_unless_allowed(tmp_path):
    import keras
    import tensorflow as tf

    class ArgMax(keras.layers.Layer):  # a builtin TFLite op (ARG_MAX) the GPU delegate lacks
        def call(self, x):
            return tf.cast(tf.math.argmax(x, axis=-1), tf.float32)[..., None]

    inputs = keras.Input((SIZE, SIZE, 3))
    model = keras.Model(inputs, ArgMax()(keras.layers.Conv2D(2, 1)(inputs)))
    with pytest.raises(GpuCompatibilityError, match="ARG_MAX"):
        export_tflite(model, tmp_path / "m.tflite", QuantizationConfig.float32())
    assert not (tmp_path / "m.tflite").exists()
    with pytest.warns(UserWarning, match="ARG_MAX"):
        result = export_tflite(model, tmp_path / "m.tflite", QuantizationConfig.float32(),
                               allow_cpu_ops=True)
    assert not result.gpu_report.ok and result.path.is_file()


def test_cli_export_several_modes(tiny_model, tmp_path, capsys):
    from bgseg.cli import main

    path = tmp_path / "tiny.keras"
    tiny_model.save(path)
    assert main(["export", str(path), "-o", str(tmp_path / "out"), "--mode", "float16", "dynamic",
                 "--training-data", "synthetic"]) == 0
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["tiny_dynamic.tflite", "tiny_float16.tflite"]
    assert "GPU delegate check passed" in capsys.readouterr().out
    x, _ = synthetic(2, seed=4)
    expected = tiny_model.predict(x, verbose=0)
    np.testing.assert_allclose(tflite_predict((tmp_path / "out" / written[1]).read_bytes(), x),
                               expected, atol=TOLERANCE["float16"]["max_abs"])
    # a second run refuses to replace the files; int8 without images is a usage error
    assert main(["export", str(path), "-o", str(tmp_path / "out"), "--mode", "float16"]) == 1
    assert main(["export", str(path), "-o", str(tmp_path / "x.tflite"), "--mode", "int8"]) == 2


# QAT (TF-MOT in a subprocess); the QAT runs themselves are slow-marked.
QAT_SPEC = {"builder": "hourglass", "encoder_filters": (16, 32, 64), "decoder_filters": 16}


def iou(pred, truth):
    p, t = pred > 0.5, truth > 0.5
    return np.logical_and(p, t).sum() / np.logical_or(p, t).sum()


def test_builder_spec(tiny_model):
    with pytest.raises(ValueError, match="not a preset"):
        builder_spec(tiny_model)
    spec = builder_spec(tiny_model, QAT_SPEC)
    assert spec["builder"] == "hourglass" and spec["kwargs"]["input_shape"] == [SIZE, SIZE, 4]
    from bgseg.models import PRESETS, build_model

    resized = build_model("hourglass_small_256", input_shape=(64, 64, 4))
    kwargs = builder_spec(resized)["kwargs"]
    assert kwargs["input_shape"] == [64, 64, 4]
    assert kwargs["encoder_filters"] == list(
        PRESETS["hourglass_small_256"].kwargs["encoder_filters"]
    )


def test_training_pairs_use_masks_or_distill(tiny_model):
    x, y = synthetic(6)
    px, py = training_pairs((x, y), tiny_model, 4)
    assert px.shape == (4, SIZE, SIZE, 4) and np.array_equal(py, y[:4])
    dx, dy = training_pairs(x[..., :3], tiny_model, 4)  # no masks: the float model teaches
    assert dx.shape == (4, SIZE, SIZE, 4) and dy.shape == (4, SIZE, SIZE, 1)
    assert 0.0 <= dy.min() and dy.max() <= 1.0


@pytest.mark.slow
def test_qat_export_matches_and_competes_with_post_training_int8(tiny_model, tmp_path):
    x, y = synthetic(64, seed=5)
    x_test, y_test = synthetic(16, seed=6)
    ptq = export_tflite(tiny_model, tmp_path / "int8.tflite", QuantizationConfig.int8(),
                        representative_data=(x, y))
    qat = export_tflite(tiny_model, tmp_path / "qat.tflite", QuantizationConfig.qat(epochs=2),
                        representative_data=(x, y), preset=QAT_SPEC)
    parity = compare(tiny_model, qat.path.read_bytes(), x_test)
    assert parity.within("qat"), parity
    assert not qat.gpu_report.problems and qat.gpu_report.cpu_only  # an int8 file
    iou_qat = iou(tflite_predict(qat.path.read_bytes(), x_test), y_test)
    iou_ptq = iou(tflite_predict(ptq.path.read_bytes(), x_test), y_test)
    assert iou_qat > iou_ptq - 0.05, (iou_qat, iou_ptq)


@pytest.mark.slow
def test_qat_with_pruning_and_clustering(tiny_model, tmp_path):
    x, y = synthetic(32, seed=5)
    config = QuantizationConfig.qat(epochs=1, prune_sparsity=0.5, clusters=16,
                                    representative_samples=32)
    result = export_tflite(tiny_model, tmp_path / "qat_pc.tflite", config,
                           representative_data=(x, y), preset=QAT_SPEC, metadata={"note": "pc"})
    assert compare(tiny_model, result.path.read_bytes(), x[:8]).mask_iou > 0.7


def test_written_files_get_ordinary_permissions(tmp_path):
    from bgseg.io import write_bytes

    path = tmp_path / "m.tflite"
    umask = os.umask(0o022)
    try:
        write_bytes(path, b"tflite")
    finally:
        os.umask(umask)
    assert path.read_bytes() == b"tflite" and (path.stat().st_mode & 0o777) == 0o644
    with pytest.raises(FileExistsError):
        write_bytes(path, b"other")
    assert not [p for p in tmp_path.iterdir() if p.name != "m.tflite"]  # no temp file left behind


def test_export_report_command(tiny_model, tmp_path, capsys):
    from bgseg.cli import main
    from tests.helpers import folder_dataset

    data = folder_dataset(tmp_path / "data")
    tiny_model.save(tmp_path / "tiny.keras")
    assert main(["export", str(tmp_path / "tiny.keras"), "--report", str(data), "-o",
                 str(tmp_path / "out"), "--mode", "float32", "float16", "--json",
                 str(tmp_path / "report.json")]) == 0
    rows = {row["mode"]: row for row in json.loads((tmp_path / "report.json").read_text())["rows"]}
    assert set(rows) == {"keras", "float32", "float16"}
    assert abs(rows["float32"]["iou_vs_truth"] - rows["keras"]["iou_vs_truth"]) < 0.01
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "tiny_float16.tflite", "tiny_float32.tflite"]
    assert "| float16 |" in capsys.readouterr().out


def test_freeze_private_api():
    """`convert.freeze` wraps TF's private convert_variables_to_constants_v2: this fails loudly
    when TensorFlow moves it, and proves that the frozen graph holds no variables."""
    import tensorflow as tf

    from bgseg.export.convert import freeze

    weight = tf.Variable(3.0)

    @tf.function(input_signature=[tf.TensorSpec([1], tf.float32)])
    def scaled(x):
        return x * weight

    frozen = freeze(scaled.get_concrete_function())
    ops = {op.type for op in frozen.graph.get_operations()}
    assert not ops & {"ReadVariableOp", "VarHandleOp"}, ops
    assert frozen(tf.constant([2.0]))[0].numpy().tolist() == [6.0]


@pytest.mark.slow
def test_qat_runs_on_the_selfie_architecture(tmp_path):
    """The selfie models' hard-swish (Rescaling, Multiply) and squeeze-excitation gates (Multiply)
    are outside TF-MOT's registry: they get an output-only QuantizeConfig, and QAT of the shipped
    video model produces a file that agrees with it on the sample photo."""
    import cv2

    from bgseg import contract
    from bgseg.export.parity import compare
    from bgseg.io import read_image
    from bgseg.models import build_model
    from tests.helpers import PHOTO

    model = build_model("selfie_256", weights="default_video")
    rgb = contract.to_model_input(read_image(PHOTO), 256, 256)
    views = np.stack([rgb, rgb[:, ::-1], cv2.GaussianBlur(rgb, (5, 5), 0), rgb * 0.7])
    x = np.concatenate([views, np.zeros(views.shape[:3] + (1,), np.float32)], -1)
    y = model.predict(x, verbose=0)
    result = export_tflite(model, tmp_path / "selfie_qat.tflite",
                           QuantizationConfig.qat(epochs=1, representative_samples=4),
                           representative_data=(x, y), preset="selfie_256")
    assert compare(model, result.path.read_bytes(), x).mask_iou > 0.8
