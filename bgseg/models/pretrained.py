"""Pretrained Keras models shipped with the package, by name (keras-hub-like presets with weights).

    model = bgseg.build_model("selfie_256", weights="mediapipe_selfie")  # 4 channels, zero prior
    model = bgseg.models.load_pretrained("default")                       # the default video model

`bgseg/assets/pretrained.json` lists each name: its `.keras` file, the preset it was saved as, its
SHA-256 and its licence. Files load offline with Keras `safe_mode`; a file whose checksum differs
from the registry (stale or damaged) is refused. Asked for another preset of the same architecture
(e.g. the 4-channel video variant of a 3-channel model), the weights are transferred across the
input-channel change with the new channels' kernels at zero, so the prediction is unchanged until
fine-tuning.
"""

import hashlib
import json
from pathlib import Path

from bgseg.runtime.registry import ASSETS, model_name

REGISTRY = ASSETS / "pretrained.json"


class PretrainedError(ValueError):
    """An unknown pretrained name, a missing file or a checksum mismatch."""


def pretrained_models():
    """{name: {"file", "preset", "sha256", "license", "description"}}."""
    with open(REGISTRY, encoding="utf-8") as handle:
        return json.load(handle)


def is_pretrained_name(name):
    """True for a name of `pretrained.json` or a shipped alias of one ("default")."""
    return isinstance(name, str) and model_name(name) in pretrained_models()


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pretrained_path(name):
    """The verified `.keras` file of a pretrained name (or a shipped alias of one)."""
    registry = pretrained_models()
    name = model_name(name)
    if name not in registry:
        raise PretrainedError(f"unknown pretrained weights {name!r}; known: "
                              f"{', '.join(sorted(registry))}")
    entry = registry[name]
    path = ASSETS / entry["file"]
    if not path.is_file():
        raise PretrainedError(f"pretrained weights {name!r} are not installed: {path} is missing "
                              f"(reinstall bgseg)")
    digest = sha256(path)
    if digest != entry["sha256"]:
        raise PretrainedError(f"pretrained weights {name!r}: {path} has SHA-256 {digest[:12]}..., "
                              f"the registry expects {entry['sha256'][:12]}... (stale or damaged "
                              f"file; reinstall bgseg)")
    return path


def register(name, model, preset, license, description):
    """Save `model` as the pretrained weights `name` (`bgseg/assets/<name>.keras`) and record its
    preset, licence and SHA-256 in the registry (used by the release scripts in `training/`)."""
    path = ASSETS / f"{name}.keras"
    model.save(path)
    registry = pretrained_models() if REGISTRY.is_file() else {}
    registry[name] = {"file": path.name, "preset": preset, "sha256": sha256(path),
                      "license": license, "description": description}
    REGISTRY.write_text(json.dumps(registry, indent=2) + "\n")
    return path


def load_pretrained(name, compile=False):
    """The pretrained Keras model `name`, as saved (its own preset)."""
    import keras

    from bgseg import losses, metrics  # noqa: F401 - registers the custom objects

    return keras.models.load_model(pretrained_path(name), compile=compile, safe_mode=True)


def apply_pretrained(model, name):
    """Load the pretrained weights `name` into `model` (same architecture, any input size and 3 or
    4 channels). Returns the transfer report. Raises PretrainedError when nothing matches."""
    from bgseg.models.transfer import transfer_weights

    source = load_pretrained(name)
    if [w.shape for w in source.weights] == [w.shape for w in model.weights]:
        model.set_weights(source.get_weights())
        return {"copied": len([layer for layer in model.layers if layer.weights]), "partial": [],
                "skipped": []}
    report = transfer_weights(source, model, zero_new_channels=True)
    if report["skipped"]:
        raise PretrainedError(
            f"pretrained weights {name!r} ({pretrained_models()[model_name(name)]['preset']}) "
            f"do not fit model {model.name!r}: no weights for "
            f"{', '.join(report['skipped'][:5])}"
        )
    return report


def check_model_source(source, field="init_from"):
    """Raise a one-line error unless `source` is None, a pretrained name or a `.keras` file."""
    if source is None or is_pretrained_name(source):
        return
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(
            f"{field}: {source!r} is neither a .keras file nor a pretrained name "
            f"({', '.join(sorted(pretrained_models()))})"
        )
    if path.suffix != ".keras":
        raise ValueError(
            f"{field}: {source} is not a .keras model (a .tflite cannot be trained; use "
            f"the Keras model it was exported from, or a pretrained name)"
        )


def load_model_source(source):
    """The Keras model of a pretrained name or a `.keras` path."""
    import keras

    if is_pretrained_name(source):
        return load_pretrained(source)
    return keras.models.load_model(source, compile=False)
