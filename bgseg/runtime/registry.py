"""Model names shipped with the package (`bgseg/assets/models.json`) and path resolution.

`models.json` is the one list of names: `bgseg.models.pretrained` names the Keras weights
(`pretrained.json`) of each model the same way, and an alias (`"alias_of"`: "default" is
"default_video") means the same model in both. An entry's `"runtime"` holds the runtime options
that model was measured best with (e.g. the quality model's mirrored looks and sharpening 1):
`runtime_options` gives them to `Segmenter` / `VideoSegmenter` as their defaults.
"""

import json
import os
from pathlib import Path

ASSETS = Path(__file__).resolve().parent.parent / "assets"


def shipped_models():
    """The shipped model registry: name -> {"file", "description"}."""
    with open(ASSETS / "models.json", encoding="utf-8") as handle:
        return json.load(handle)


def model_name(name):
    """The model a shipped name stands for ("default" -> "default_video"); other names as is."""
    entry = shipped_models().get(name) if isinstance(name, str) else None
    return entry.get("alias_of", name) if entry else name


def runtime_options(path):
    """The runtime options (`"runtime"` in models.json) of the shipped model whose file is `path`
    (a name's resolved path, or the asset itself; an alias shares its model's entry, which holds
    them); {} for any other file."""
    path = Path(os.fspath(path))
    for entry in shipped_models().values():
        asset = ASSETS / entry["file"]
        if "runtime" in entry and asset.is_file() and path.is_file() \
                and os.path.samefile(asset, path):
            return dict(entry["runtime"])
    return {}


def resolve_model(name_or_path):
    """Return the `.tflite` path for a file path or a shipped model name ("default", ...).

    Raises FileNotFoundError naming what is missing: an unknown name/path, or a shipped model whose
    file is not installed.
    """
    path = Path(os.fspath(name_or_path)).expanduser()
    if path.is_file():
        return path
    registry = shipped_models()
    if str(name_or_path) in registry:
        asset = ASSETS / registry[str(name_or_path)]["file"]
        if not asset.is_file():
            raise FileNotFoundError(
                f"the shipped model {str(name_or_path)!r} is not installed: {asset} is missing "
                f"(reinstall bgseg, or pass a .tflite file with --model PATH)")
        return asset
    if path.exists():
        raise FileNotFoundError(f"model {path} is not a file")
    raise FileNotFoundError(
        f"model {str(name_or_path)!r} is neither a file nor a shipped model name "
        f"(shipped: {', '.join(sorted(registry))})"
    )
