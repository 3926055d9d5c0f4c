"""Function-preserving widening of a trained selfie model (Net2WiderNet, Chen et al. 2016).

A selfie model built with `expand_multiplier=k` has k times the hidden channels of the 1x model:
every block's expanded width (1x1 expand, depthwise, squeeze-excitation gate) and the head's
filters. `widen_selfie_weights` fills such a model from a trained narrower one so that it computes
the same mask: each hidden channel is copied k times (the layers that make it and act on it per
channel are replicated), and the layer that reads the hidden channels back (the block's 1x1
project, the squeeze-excitation reduce, the decoder's first 1x1) shares each original channel's
weights among its copies. The shares are 1/k plus zero-sum noise, so the output is unchanged while
the copies receive different gradients and can learn different features.
"""

import numpy as np


def widen_selfie_weights(source, target, noise=0.1, seed=0):
    """Copy the selfie model `source` into `target`, a selfie model with an integer multiple of its
    hidden widths and the same input channels (module doc). Returns {"widened": [layer names],
    "copied": n}. `noise`: the relative spread of the shares among copies (0: equal shares, and the
    copies stay identical under training)."""
    rng = np.random.default_rng(seed)
    widened, copied = [], 0
    for layer in target.layers:
        if not layer.weights:
            continue
        try:
            src_w = source.get_layer(layer.name).get_weights()
        except ValueError:
            raise ValueError(f"{source.name!r} has no layer {layer.name!r}: widening needs two "
                             "selfie models") from None
        dst_shapes = [w.shape for w in layer.get_weights()]
        if [w.shape for w in src_w] == dst_shapes:
            layer.set_weights(src_w)
            copied += 1
            continue
        layer.set_weights(_widen_layer(layer.name, src_w, dst_shapes, noise, rng))
        widened.append(layer.name)
    return {"widened": widened, "copied": copied}


def _widen_layer(name, src_w, dst_shapes, noise, rng):
    kernel, bias = src_w
    if dst_shapes[0][:2] != kernel.shape[:2]:
        raise ValueError(f"layer {name!r}: kernel size {kernel.shape[:2]} vs {dst_shapes[0][:2]}")
    in_axis, out_axis = 2, 3
    grow_in = dst_shapes[0][in_axis] != kernel.shape[in_axis]
    grow_out = dst_shapes[0][out_axis] != kernel.shape[out_axis]
    if grow_out or (grow_in and name.endswith("_dw")):  # makes hidden channels: replicate them
        axis = in_axis if name.endswith("_dw") else out_axis
        reps = _ratio(name, kernel.shape[axis], dst_shapes[0][axis])
        kernel = np.concatenate([kernel] * reps, axis=axis)
        bias = np.concatenate([bias] * reps)
    elif grow_in:  # reads hidden channels: share each channel's weights among its copies
        reps = _ratio(name, kernel.shape[in_axis], dst_shapes[0][in_axis])
        shares = _shares(reps, kernel.shape[in_axis], noise, rng)
        kernel = np.concatenate([kernel * s[None, None, :, None] for s in shares], axis=in_axis)
    if [kernel.shape, bias.shape] != list(dst_shapes):
        raise ValueError(f"layer {name!r}: cannot widen {[w.shape for w in src_w]} to "
                         f"{list(dst_shapes)}")
    return [kernel.astype(src_w[0].dtype), bias.astype(src_w[1].dtype)]


def _ratio(name, narrow, wide):
    if wide % narrow:
        raise ValueError(f"layer {name!r}: {wide} channels are not a multiple of {narrow}")
    return wide // narrow


def _shares(reps, channels, noise, rng):
    """`reps` arrays of per-channel shares that sum to 1 for every channel."""
    jitter = rng.uniform(-noise, noise, size=(reps, channels)) / reps
    jitter -= jitter.mean(axis=0, keepdims=True)
    return 1.0 / reps + jitter
