"""Fit a model from a recipe into a run directory, resumable.

Run directory layout::

    runs/<name>/best.keras      best val_IOU_calc_loss so far (ModelCheckpoint, save_best_only)
                last.keras      end of the latest epoch, with the optimizer state (for resume)
                state.json      recipe, fingerprint, finished epochs, best value, epoch times
                log.csv         Keras CSV log        tensorboard/   TensorBoard logs
                plots/          loss.png, epoch_NNN.png (input / truth / prediction)

Running the same recipe again resumes from `last.keras` at the next epoch (a killed run loses at
most the epoch in progress). A directory holding a run of another recipe is refused unless
`overwrite=True`.
"""

import csv
import importlib.util
import json
import shutil
import tempfile
from pathlib import Path

from bgseg.training.callbacks import MONITOR, Plots, RunState, write_json
from bgseg.training.config import check_data_paths
from bgseg.training.distributed import (
    all_sum,
    check_same_epoch,
    fix_keras_multiworker_build,
    make_strategy,
    weights_digest,
    worker_role,
)

RUN_FILES = ("best.keras", "last.keras", "state.json", "log.csv")
RUN_DIRS = ("plots", "tensorboard")


class RunDirError(RuntimeError):
    """The output directory cannot be used for this recipe."""


def fresh_state(recipe):
    """The state of a run that has not trained yet."""
    return {"fingerprint": recipe.fingerprint(), "recipe": recipe.to_dict(), "epoch": 0,
            "best": None, "finished": False}


def _resumed(state, recipe):
    """A saved state of `recipe`, updated for this run (epochs etc. may have changed)."""
    state["recipe"] = recipe.to_dict()
    state["finished"] = state["epoch"] >= recipe.epochs
    return state


def prepare_run_dir(run_dir, recipe, overwrite=False):
    """Return the saved state to resume from (or a fresh one) after checking `run_dir`."""
    run_dir = Path(run_dir)
    state_path = run_dir / "state.json"
    fresh = fresh_state(recipe)
    if state_path.is_file():
        state = json.loads(state_path.read_text())
        if state.get("fingerprint") == recipe.fingerprint() and not overwrite:
            if state["epoch"] and not (run_dir / "last.keras").is_file():
                raise RunDirError(f"{state_path} records {state['epoch']} epochs but "
                                  f"{run_dir / 'last.keras'} is missing; cannot resume "
                                  f"(use --overwrite to start again)")
            return _resumed(state, recipe)
        if not overwrite:
            raise RunDirError(
                f"{run_dir} holds a run of a different recipe (state.json fingerprint "
                f"{state.get('fingerprint')} != {recipe.fingerprint()}); use another "
                f"--output or --overwrite"
            )
    elif run_dir.is_dir() and any(run_dir.iterdir()) and not overwrite:
        raise RunDirError(
            f"{run_dir} exists, is not empty and holds no state.json: not a bgseg run "
            f"directory; use another --output or --overwrite"
        )
    if overwrite:
        for name in RUN_FILES:
            (run_dir / name).unlink(missing_ok=True)
        for name in RUN_DIRS:
            shutil.rmtree(run_dir / name, ignore_errors=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    return fresh


def read_run_state(run_dir, recipe, overwrite=False):
    """The state a non-chief worker resumes from, read without writing: the chief's saved state of
    this recipe, or a fresh one (also when the chief starts again with `overwrite`)."""
    state_path = Path(run_dir) / "state.json"
    if not overwrite and state_path.is_file():
        state = json.loads(state_path.read_text())
        if state.get("fingerprint") == recipe.fingerprint():
            return _resumed(state, recipe)
    return fresh_state(recipe)


def _trim_log(csv_path, epochs_done):
    """Drop CSV rows of epochs that were not checkpointed (a run killed after logging them)."""
    if not csv_path.is_file():
        return
    with open(csv_path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return
    kept = [rows[0]] + [r for r in rows[1:] if r and int(r[0]) < epochs_done]
    with open(csv_path, "w", newline="") as f:
        csv.writer(f).writerows(kept)


def build_data(recipe, hw, channels, log=print):
    """The training `Sampler` (train split) and validation arrays (val split) of a recipe."""
    from bgseg.data.pipeline import Sampler
    from bgseg.data.sources import Backgrounds, LoadedSource, source_items

    short_side = round(recipe.cache_short_side * max(hw))
    train, val = [], []
    for spec in recipe.sources:
        items = source_items(spec, recipe.cache_dir, log=log)
        train.append(LoadedSource(spec, items, "train", short_side))
        val.append(LoadedSource(spec, items, "val", short_side))
        test = len(items) - len(train[-1]) - len(val[-1])
        log(f"[{spec.name}] {spec.type} {spec.path}: {len(items)} items, train {len(train[-1])}, "
            f"val {len(val[-1])}, test {test} (split {spec.split}), weight {spec.weight}")
    cfg = recipe.augment
    backgrounds = Backgrounds(cfg.backgrounds, max(hw)) if cfg.background_prob > 0 else None
    objects = None
    if cfg.paste_objects > 0:
        from bgseg.data.objects import CocoObjects

        objects = CocoObjects(cfg.objects, max(hw))
        log(objects.report())
    weights = [s.weight for s in recipe.sources]
    sampler = Sampler(train, weights, hw, channels, cfg, backgrounds, seed=recipe.seed,
                      objects=objects)
    val_sampler = Sampler(val, weights, hw, channels, cfg, backgrounds, seed=recipe.seed,
                          objects=objects)
    x, y = val_sampler.validation_arrays(recipe.val_images)
    log(f"training stream mixes {[s.spec.name for s in sampler.sources]} with probabilities "
        f"{[round(float(w), 3) for w in sampler.weights]}; {len(x)} validation images")
    return sampler, (x, y)


def data_throughput(recipe, batches=30, log=print):
    """Build the recipe's training stream alone and return its speed in images/s."""
    from bgseg.data.pipeline import measure_throughput, train_dataset
    from bgseg.models import get_preset

    shape = tuple(recipe.model_kwargs.get("input_shape", get_preset(recipe.model).input_shape))
    sampler, _ = build_data(recipe, shape[:2], shape[2], log=log)
    dataset = train_dataset(sampler, recipe.batch_size, parallel=recipe.workers or None)
    return measure_throughput(dataset, batches)


def compile_model(model, recipe):
    import keras

    from bgseg import losses, metrics

    schedule = keras.optimizers.schedules.InverseTimeDecay(recipe.lr, decay_steps=1,
                                                           decay_rate=recipe.lr_decay)
    loss = losses.IoULoss() if recipe.loss == "iou" else losses.bce_iou_loss()
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=schedule), loss=loss,
                  metrics=metrics.default_metrics(), jit_compile=False)
    return model


def default_callbacks(write_dir, state, recipe, plot_x, plot_y, log=print):
    """The run folder's callbacks: best.keras, log.csv, plots of `plot_x`/`plot_y`, TensorBoard
    logs when tensorboard is installed, and state.json / last.keras (last, after the others)."""
    import keras

    callbacks = [
        keras.callbacks.ModelCheckpoint(write_dir / "best.keras", monitor=MONITOR,
                                        mode="min", save_best_only=True,
                                        initial_value_threshold=state["best"]),
        keras.callbacks.CSVLogger(write_dir / "log.csv", append=True),
        Plots(write_dir / "plots", write_dir / "log.csv", plot_x, plot_y),
        RunState(write_dir, state, recipe.images_per_epoch, log=log),
    ]
    if importlib.util.find_spec("tensorboard"):
        callbacks.insert(-1, keras.callbacks.TensorBoard(write_dir / "tensorboard",
                                                         write_graph=False, profile_batch=0))
    else:
        log("tensorboard is not installed (pip install tensorboard): no TensorBoard logs")
    return callbacks


def train(recipe, output=None, overwrite=False, verbose=1, log=print):
    """Train (or resume) `recipe` into `output` (default runs/<recipe.name>). Returns the run
    dir."""
    import keras
    import numpy as np
    import tensorflow as tf

    from bgseg import losses, metrics  # noqa: F401 - registers the custom objects load_model needs
    from bgseg.data.pipeline import train_dataset
    from bgseg.models import get_preset
    from bgseg.models.pretrained import check_model_source, load_model_source

    strategy = make_strategy(recipe.strategy)  # first: multi-worker collectives start here
    role = worker_role(strategy)
    run_dir = Path(output or Path("runs") / recipe.name)
    for field in ("init_from", "teacher"):  # fail before any data loads or any folder exists
        check_model_source(getattr(recipe, field), field)
    check_data_paths(recipe)  # before the run folder exists: a wrong path leaves nothing behind
    if role.is_chief:
        state = prepare_run_dir(run_dir, recipe, overwrite)
    all_sum(strategy, 0)  # the chief has prepared the run directory
    if not role.is_chief:
        state = read_run_state(run_dir, recipe, overwrite)
        log(f"worker {role.index} of {role.count}: the chief writes {run_dir}; this worker's "
            f"checkpoints go to a temporary folder")
    check_same_epoch(strategy, state["epoch"], run_dir)
    if state["finished"]:
        log(f"{run_dir}: already trained {state['epoch']} of {recipe.epochs} epochs; nothing to do "
            f"(raise 'epochs' to continue, or --overwrite to start again)")
        return run_dir
    write_dir = run_dir if role.is_chief else Path(tempfile.mkdtemp(prefix="bgseg-worker-"))
    preset = get_preset(recipe.model)
    shape = tuple(recipe.model_kwargs.get("input_shape", preset.input_shape))
    hw, channels = shape[:2], shape[2]
    sampler, (val_x, val_y) = build_data(recipe, hw, channels, log=log)
    keras.utils.set_random_seed(recipe.seed)
    initial_epoch = state["epoch"]
    with strategy.scope():
        if initial_epoch:
            log(f"resuming {run_dir} from last.keras after epoch {initial_epoch}")
            model = keras.models.load_model(run_dir / "last.keras")
        else:
            model = compile_model(initial_model(recipe, log), recipe)
    if role.count > 1:
        fix_keras_multiworker_build(model, strategy)
    _trim_log(write_dir / "log.csv", initial_epoch)

    teacher = None
    if recipe.teacher and recipe.distill:
        teacher = load_model_source(recipe.teacher)
        teacher.trainable = False
        log(f"distilling from {recipe.teacher} (weight {recipe.distill})")
    val_ds = tf.data.Dataset.from_tensor_slices((val_x, val_y)).batch(recipe.batch_size)
    n_plot = min(recipe.plot_images, len(val_x))
    plot_idx = np.unique(np.linspace(0, len(val_x) - 1, n_plot).astype(int))  # across sources
    callbacks = default_callbacks(write_dir, state, recipe, val_x[plot_idx], val_y[plot_idx],
                                  log=log)
    write_json(write_dir / "state.json", state)
    for begin, end, prefixes in _phases(recipe, initial_epoch):
        if set_frozen(model, prefixes):
            log(f"epochs {begin + 1}-{end}: " + (f"layers {list(prefixes)}* frozen" if prefixes
                                                  else "all layers trainable"))
            with strategy.scope():
                compile_model(model, recipe)
        start = begin * recipe.steps_per_epoch * recipe.batch_size
        dataset = train_dataset(sampler, recipe.batch_size, start=start,
                                parallel=recipe.workers or None, policy=model, teacher=teacher,
                                distill=recipe.distill, num_shards=role.count,
                                shard_index=role.index)
        model.fit(dataset, epochs=end, initial_epoch=begin, steps_per_epoch=recipe.steps_per_epoch,
                  validation_data=val_ds, callbacks=callbacks, verbose=verbose)
    state["finished"] = state["epoch"] >= recipe.epochs
    write_json(write_dir / "state.json", state)
    if role.count > 1:
        log(f"worker {role.index}: weights sha256 {weights_digest(model)} (trainable "
            f"{weights_digest(model, model.trainable_weights)})")
    if not role.is_chief:
        shutil.rmtree(write_dir, ignore_errors=True)
    log(f"done: {run_dir} (best val_IOU_calc_loss {state['best']} at epoch "
        f"{state.get('best_epoch')})")
    return run_dir


def _phases(recipe, initial_epoch):
    """(first epoch, end epoch, frozen prefixes) of what is left to train."""
    split = min(max(recipe.freeze_epochs, initial_epoch), recipe.epochs)
    phases = [(initial_epoch, split, recipe.freeze_prefixes), (split, recipe.epochs, ())]
    return [p for p in phases if p[0] < p[1]]


def set_frozen(model, prefixes):
    """Freeze the layers whose names start with one of `prefixes`, unfreeze the others. Returns
    True when a layer changed. Raises ValueError when a prefix matches no layer."""
    prefixes = tuple(prefixes)
    for prefix in prefixes:
        if not any(layer.name.startswith(prefix) for layer in model.layers):
            raise ValueError(f"freeze_prefixes: no layer of {model.name!r} starts with {prefix!r}")
    changed = False
    for layer in model.layers:
        if not layer.weights:
            continue
        trainable = not layer.name.startswith(prefixes) if prefixes else True
        changed |= layer.trainable != trainable
        layer.trainable = trainable
    return changed


def initial_model(recipe, log=print):
    """The recipe's model before training: its preset (with `model_kwargs`), initialised from
    `init_from` when set."""
    from bgseg.models import build_model
    from bgseg.models.pretrained import check_model_source, load_model_source
    from bgseg.models.transfer import transfer_weights
    from bgseg.models.widen import widen_selfie_weights

    model = build_model(recipe.model, **recipe.model_kwargs)
    if recipe.init_from:
        check_model_source(recipe.init_from)
        source = load_model_source(recipe.init_from)
        if recipe.init_widen:
            report = widen_selfie_weights(source, model, seed=recipe.seed)
            log(f"initialised from {recipe.init_from}, widened: {report['copied']} layers copied, "
                f"widened: {report['widened']}")
        else:
            report = transfer_weights(source, model, zero_new_channels=True)
            log(f"initialised from {recipe.init_from}: {report['copied']} layers copied, partial "
                f"(channels mapped): {report['partial']}, fresh: {report['skipped']}")
    return model


__all__ = ["RunDirError", "build_data", "initial_model", "set_frozen", "compile_model",
           "data_throughput", "make_strategy", "prepare_run_dir", "train"]
