"""tf.distribute for training: the strategy, this process's role, and checks across workers.

Multi-worker training (`strategy: multiworker`) runs one process per worker, each with `TF_CONFIG`
naming the cluster and its own task (docs/scale.md). Every worker draws its own shard of the sample
stream; the strategy all-reduces gradients so that all workers hold identical weights after every
step. Only the chief (task `chief`, or `worker` 0 when there is no chief) writes the run directory;
the others write their checkpoints into a temporary folder that is removed at the end.
"""

import dataclasses
import hashlib


@dataclasses.dataclass(frozen=True)
class WorkerRole:
    index: int = 0        # this worker's position among the workers (0 = chief)
    count: int = 1        # number of workers
    is_chief: bool = True


def make_strategy(name):
    """The tf.distribute strategy called `name` (default / mirrored / multiworker). Create it
    before any other TensorFlow work: MultiWorkerMirroredStrategy must start the collectives
    first."""
    import tensorflow as tf

    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def worker_role(strategy):
    """This process's WorkerRole under `strategy` (a single worker for local strategies)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return WorkerRole()
    cluster = resolver.cluster_spec().as_dict()
    task_type, task_id = resolver.task_type, int(resolver.task_id or 0)
    workers = len(cluster.get("chief", [])) + len(cluster.get("worker", []))
    if "chief" in cluster:
        index = 0 if task_type == "chief" else task_id + 1
    else:
        index = task_id
    return WorkerRole(index=index, count=workers, is_chief=index == 0)


def all_sum(strategy, value):
    """The sum of `value` (a number) over all replicas; also a barrier: it returns only when every
    worker has called it."""
    import tensorflow as tf

    if strategy.num_replicas_in_sync == 1:
        return float(value)
    per_replica = strategy.run(lambda: tf.constant(float(value)))
    return float(strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None))


def check_same_epoch(strategy, epoch, run_dir):
    """Raise unless every worker resumes at the same epoch (they read the run directory)."""
    n = strategy.num_replicas_in_sync
    total, squares = all_sum(strategy, epoch), all_sum(strategy, epoch * epoch)
    if abs(squares * n - total * total) > 1e-6:  # equality in Cauchy-Schwarz: all values equal
        raise RuntimeError(f"workers resume at different epochs (mean {total / n:g}, this one "
                           f"{epoch}): the run directory {run_dir} must be on storage that every "
                           f"worker can read")


def weights_digest(model, variables=None):
    """SHA-256 of the model's weights, or of `variables`. The trainable weights are identical on
    every worker after synchronous training; BatchNormalization moving statistics are not (each
    worker averages its own batches, as everywhere in tf.distribute without synchronized batch
    norm; the chief's are saved). The selfie presets have no BatchNormalization."""
    digest = hashlib.sha256()
    for array in (model.get_weights() if variables is None else [v.numpy() for v in variables]):
        digest.update(array.tobytes())
    return digest.hexdigest()


def fix_keras_multiworker_build(model, strategy):
    """Work around two Keras 3.15 bugs with MultiWorkerMirroredStrategy (private Keras APIs, used
    here only and only for multi-worker runs; tests/test_multiworker.py fails when they move).

    1. Before the first step, `fit()` calls `Model._maybe_symbolic_build(iterator)`, which averages
       the first distributed `(x, y)` batch with `strategy.reduce("MEAN", (x, y))` only to learn
       its shapes; CollectiveAllReduceStrategy cannot reduce a tuple ("Attempt to convert a value
       (PerReplica...) to a Tensor"). On `model` only, this takes this worker's first replica's
       batch instead (same shapes) and builds as Keras does.
    2. Every step's logs go through `reduce_per_replica(..., reduction="auto")`, which under
       CollectiveAllReduceStrategy averages with `axis=0` and fails on the scalar metrics
       ("Invalid reduction dimension 0 for input with 0 dimensions"). The replacement averages
       scalars over the replicas with `axis=None` and leaves everything else to Keras.
    Raises RuntimeError when either private API is gone or has changed.
    """
    import importlib
    import inspect

    import keras
    import tensorflow as tf

    trainer_module = importlib.import_module("keras.src.backend.tensorflow.trainer")
    original_build = getattr(model, "_maybe_symbolic_build", None)
    original_reduce = getattr(trainer_module, "reduce_per_replica", None)
    if (original_build is None or original_reduce is None
            or list(inspect.signature(original_build).parameters) != ["iterator", "data_batch"]
            or list(inspect.signature(original_reduce).parameters) != ["values", "strategy",
                                                                        "reduction"]):
        raise RuntimeError(f"Keras {keras.__version__} changed Model._maybe_symbolic_build or "
                           f"reduce_per_replica; re-check bgseg.training.distributed."
                           f"fix_keras_multiworker_build")

    def local_first(value):
        if isinstance(value, tf.distribute.DistributedValues):
            return strategy.experimental_local_results(value)[0]
        return value

    def build(iterator=None, data_batch=None):
        if iterator is not None:
            for _, _, batches in iterator:  # as Keras: the epoch iterator's first batch
                data_batch = tf.nest.map_structure(local_first, next(batches))
                break
        return original_build(data_batch=data_batch)

    def reduce_one(value, strategy_, reduction):
        # one replica per worker: the step's outputs are plain tensors, several: PerReplica
        local = value.values[0] if isinstance(value, tf.distribute.DistributedValues) else value
        if tf.is_tensor(local) and local.shape.rank == 0:
            return strategy_.reduce("MEAN", value, axis=None)
        return original_reduce(value, strategy_, reduction)

    def reduce_per_replica(values, strategy_, reduction):
        if reduction in ("auto", "mean") and isinstance(
                strategy_, tf.distribute.MultiWorkerMirroredStrategy):
            return tf.nest.map_structure(lambda v: reduce_one(v, strategy_, reduction), values)
        return original_reduce(values, strategy_, reduction)

    model._maybe_symbolic_build = build
    if not getattr(original_reduce, "bgseg_fixed", False):
        reduce_per_replica.bgseg_fixed = True
        trainer_module.reduce_per_replica = reduce_per_replica
    return model
