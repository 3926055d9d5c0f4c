"""Training recipes: a JSON file per recipe (see docs/training.md for every field)."""

import dataclasses
import hashlib
import json
from pathlib import Path

from bgseg.data.augment import AugmentConfig
from bgseg.data.sources import SourceSpec

LOSSES = ("iou", "bce_iou")
STRATEGIES = ("default", "mirrored", "multiworker")
# Fields that may change between a run and its resumption (they do not change what is learnt so
# far).
RESUMABLE_FIELDS = ("epochs", "strategy", "cache_dir", "workers")
# Fields added after runs existed, with their defaults: left out of the fingerprint when unset.
LATER_FIELDS = {"distill": 0.0, "freeze_prefixes": (), "freeze_epochs": 0, "init_widen": False}
# augment fields added later, left out of the fingerprint while unset
AUGMENT_LATER_FIELDS = {"paste_objects": 0.0, "objects": (), "object_count": (1, 2),
                        "object_height": (0.1, 0.6)}


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A training recipe. Relative data paths are read from the current directory."""

    name: str
    model: str                          # a preset of bgseg.models.PRESETS
    sources: tuple
    epochs: int = 50
    images_per_epoch: int = 500         # steps_per_epoch = images_per_epoch // batch_size
    batch_size: int = 16
    lr: float = 1e-3
    lr_decay: float = 1e-4              # lr / (1 + lr_decay * step), as Keras 2's `decay`
    loss: str = "iou"
    val_images: int = 200
    plot_images: int = 6
    seed: int = 0
    cache_short_side: float = 1.25      # sources kept in memory at this x the model's larger side
    strategy: str = "default"
    workers: int = 0                    # tf.data map parallelism (0: AUTOTUNE)
    cache_dir: str = None               # COCO mask cache (default $BGSEG_CACHE or ~/.cache/bgseg)
    model_kwargs: dict = dataclasses.field(default_factory=dict)
    init_from: str = None               # a .keras model or pretrained name to start from
    init_widen: bool = False            # init_from is a narrower selfie model: Net2WiderNet it
    teacher: str = None                 # a .keras model or pretrained name to distil from (frozen)
    distill: float = 0.0                # weight of the teacher in the soft targets, in [0, 1)
    freeze_prefixes: tuple = ()         # layers whose names start with these stay frozen ...
    freeze_epochs: int = 0              # ... for the first this many epochs
    augment: AugmentConfig = dataclasses.field(default_factory=AugmentConfig)

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {self.strategy!r}")
        for name in ("epochs", "images_per_epoch", "batch_size", "val_images"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.plot_images < 0:
            raise ValueError(f"plot_images must be >= 0, got {self.plot_images}")
        if self.images_per_epoch < self.batch_size:
            raise ValueError("images_per_epoch must be at least batch_size")
        if not self.sources:
            raise ValueError("a recipe needs at least one source")
        from bgseg.models.presets import PRESETS

        if self.model not in PRESETS:
            raise ValueError(
                f"unknown model preset {self.model!r}; known: {', '.join(sorted(PRESETS))}"
            )
        if not 0 <= self.distill < 1:
            raise ValueError(f"distill must be in [0, 1), got {self.distill}")
        if self.init_widen and not self.init_from:
            raise ValueError("init_widen needs an 'init_from' model to widen")
        if self.distill and not self.teacher:
            raise ValueError("distill > 0 needs a 'teacher'")
        if self.freeze_epochs < 0 or bool(self.freeze_epochs) != bool(self.freeze_prefixes):
            raise ValueError("freeze_epochs (>= 1) and freeze_prefixes (layer name prefixes, e.g. "
                             "[\"stem_\", \"enc\"]) go together")

    @property
    def steps_per_epoch(self):
        return self.images_per_epoch // self.batch_size

    def to_dict(self):
        d = dataclasses.asdict(self)
        d["sources"] = [dataclasses.asdict(s) for s in self.sources]
        for source in d["sources"]:  # the default split is left out: older runs stay resumable
            if source["split"] == "auto":
                del source["split"]
        return d

    def fingerprint(self):
        """Hash of everything that defines what the run learns (not `RESUMABLE_FIELDS`). Unset
        optional fields are left out, so adding one to `Recipe` keeps older runs resumable."""
        d = {k: v for k, v in self.to_dict().items() if k not in RESUMABLE_FIELDS and v is not None
             and not (k in LATER_FIELDS and v == LATER_FIELDS[k])}
        d["augment"] = {k: v for k, v in d["augment"].items()
                        if not (k in AUGMENT_LATER_FIELDS
                                and _as_tuple(v) == AUGMENT_LATER_FIELDS[k])}
        return hashlib.sha1(json.dumps(d, sort_keys=True, default=list).encode()).hexdigest()[:16]

    @classmethod
    def from_dict(cls, d):
        d = dict(d)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown recipe field(s) {sorted(unknown)}; known: {sorted(known)}")
        if "sources" not in d or not isinstance(d["sources"], list):
            raise ValueError("a recipe needs a 'sources' list")
        d["sources"] = tuple(SourceSpec.from_dict(s) for s in d["sources"])
        aug = dict(d.get("augment") or {})
        aug_known = {f.name for f in dataclasses.fields(AugmentConfig)}
        if set(aug) - aug_known:
            raise ValueError(f"unknown augment field(s) {sorted(set(aug) - aug_known)}; known: "
                             f"{sorted(aug_known)}")
        if "freeze_prefixes" in d:
            d["freeze_prefixes"] = tuple(d["freeze_prefixes"])
        for key in ("scale", "backgrounds", "objects"):
            if key in aug:
                aug[key] = tuple(aug[key])
        d["augment"] = AugmentConfig(**aug)
        return cls(**d)


def _as_tuple(value):
    return tuple(value) if isinstance(value, list) else value


def load_recipe(path, **overrides):
    """Read a JSON recipe; `overrides` (non-None values) replace its fields."""
    path = Path(path)
    try:
        d = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"recipe not found: {path}") from None
    except ValueError as e:
        raise ValueError(f"recipe {path} is not valid JSON: {e}") from None
    d.setdefault("name", path.stem)
    d.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Recipe.from_dict(d)
    except (TypeError, ValueError) as e:
        raise ValueError(f"recipe {path}: {e}") from None


def check_data_paths(recipe):
    """Raise FileNotFoundError naming the first data source or background folder that does not
    exist (relative paths are read from the current folder)."""
    for spec in recipe.sources:
        if not Path(spec.path).exists():
            raise FileNotFoundError(f"data source {spec.name!r}: path not found: {spec.path} "
                                    f"(relative paths are read from {Path.cwd()})")
    if recipe.augment.background_prob > 0:
        for folder in recipe.augment.backgrounds:
            if not Path(folder).is_dir():
                raise FileNotFoundError(f"background folder not found: {folder}")
    if recipe.augment.paste_objects > 0:
        for root in recipe.augment.objects:
            if not Path(root).is_dir():
                raise FileNotFoundError(f"COCO objects root not found: {root}")
