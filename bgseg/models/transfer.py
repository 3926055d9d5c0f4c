"""Initialise a model from another model's weights across a change of input channels.

Typical use: start the 3-channel image twin from a trained 4-channel video model (or the reverse)
and fine-tune briefly. Layers are matched by name. Where a layer's input channels differ, each
channel is traced back through the graph to where it was made (an input channel or a layer's output
channel; concatenations, batch norms, activations, resizes, adds and pools pass channels through)
and the weights of the channels both models share are copied; weights of channels the source lacks
keep their fresh initialisation.
"""

import numpy as np

# Layers whose output channel k is their input channel k (per-channel weights, if any, on axis 0).
_PASS_THROUGH = ("BatchNormalization", "Activation", "ReLU", "UpSampling2D", "Dropout", "Add",
                 "MaxPooling2D", "AveragePooling2D")


def channel_labels(model):
    """{layer name: list of labels of its input channels}. Labels name where a channel was made."""
    made = {}  # output tensor id -> labels
    inputs = {}
    for layer in model.layers:
        # `layer.input`: the (public) input tensor(s) of a layer called once, as in every bgseg
        # builder; a layer shared between two calls has no single input and raises
        in_tensors = [] if type(layer).__name__ == "InputLayer" else _flatten(layer.input)
        in_labels = [lab for t in in_tensors for lab in made.get(id(t), [])]
        out = layer.output
        channels = out.shape[-1]
        kind = type(layer).__name__
        if kind == "InputLayer":
            labels = [f"input:{c}" for c in range(channels)]
        elif kind == "Concatenate":
            labels = in_labels
        elif kind in _PASS_THROUGH or (kind == "DepthwiseConv2D"
                                       and layer.depth_multiplier == 1):
            labels = made.get(id(in_tensors[0]), [])[:channels] if in_tensors else []
        else:
            labels = [f"{layer.name}:{c}" for c in range(channels)]
        made[id(out)] = labels
        inputs[layer.name] = (made.get(id(in_tensors[0]), []) if in_tensors and
                              kind not in ("Concatenate", "Add") else in_labels)
    return inputs


def _flatten(x):
    if isinstance(x, (list, tuple)):
        return [t for item in x for t in _flatten(item)]
    return [x]


def transfer_weights(source, target, zero_new_channels=False):
    """Copy `source`'s weights into `target` layer by layer (see module doc). Returns a report
    {"copied": n, "partial": [layer names], "skipped": [layer names]}.

    With `zero_new_channels`, convolution kernels get zeros for the input channels `source` lacks
    (e.g. a previous-mask channel added to an image model), so `target` computes exactly what
    `source` did until it is trained."""
    src_labels, dst_labels = channel_labels(source), channel_labels(target)
    report = {"copied": 0, "partial": [], "skipped": []}
    for layer in target.layers:
        if not layer.weights:
            continue
        try:
            src_layer = source.get_layer(layer.name)
        except ValueError:
            report["skipped"].append(layer.name)
            continue
        src_w, dst_w = src_layer.get_weights(), layer.get_weights()
        if [w.shape for w in src_w] == [w.shape for w in dst_w]:
            layer.set_weights(src_w)
            report["copied"] += 1
            continue
        mapped = _map_channels(type(layer).__name__, src_w, dst_w, src_labels[layer.name],
                               dst_labels[layer.name], zero_new_channels)
        if mapped is None:
            report["skipped"].append(layer.name)
        else:
            layer.set_weights(mapped)
            report["partial"].append(layer.name)
    return report


def _map_channels(kind, src_w, dst_w, src_labels, dst_labels, zero_new=False):
    """Weights of `dst` with the input channels it shares with `src` copied; None if impossible."""
    index = {lab: i for i, lab in enumerate(src_labels)}
    pairs = [(d, index[lab]) for d, lab in enumerate(dst_labels) if lab in index]
    if not pairs or len(dst_labels) != _in_channels(kind, dst_w):
        return None
    d_idx, s_idx = (np.array(p) for p in zip(*pairs))
    out = []
    for s, d in zip(src_w, dst_w):
        axis = _input_axis(kind, s)
        if axis is None and s.shape == d.shape:  # per-output-channel weights, e.g. a conv bias
            out.append(s)
            continue
        if axis is None or s.ndim != d.ndim:
            return None
        s_shape = list(s.shape)
        s_shape[axis] = d.shape[axis]
        if s_shape != list(d.shape):
            return None
        new = np.zeros_like(d) if zero_new and kind in ("Conv2D", "Conv2DTranspose") else d.copy()
        sl_d = [slice(None)] * d.ndim
        sl_s = [slice(None)] * s.ndim
        sl_d[axis], sl_s[axis] = d_idx, s_idx
        new[tuple(sl_d)] = s[tuple(sl_s)]
        out.append(new)
    return out


def _in_channels(kind, weights):
    return weights[0].shape[_input_axis(kind, weights[0])]


def _input_axis(kind, w):
    """The axis of a weight array that runs over input channels."""
    if kind in ("Conv2D", "Conv2DTranspose", "DepthwiseConv2D"):
        if w.ndim == 4:
            return 3 if kind == "Conv2DTranspose" else 2
        return 0 if kind == "DepthwiseConv2D" else None  # depthwise bias is per input channel
    if kind == "BatchNormalization":
        return 0
    return None


def interpolate_weights(tuned, original, alpha):
    """Weight-space ensemble (WiSE-FT, Wortsman et al. 2022): a model like `tuned` whose weights are
    `alpha * tuned + (1 - alpha) * original`. Both models must have the same weight shapes (e.g. a
    fine-tune and the pretrained model it started from, with the new input channels at zero); for
    networks without batch norm (or with it folded) this trades the fine-tune's gains against the
    original's robustness smoothly."""
    import keras

    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    a, b = tuned.get_weights(), original.get_weights()
    if [w.shape for w in a] != [w.shape for w in b]:
        raise ValueError("the two models have different weight shapes: not the same architecture")
    mixed = keras.models.clone_model(tuned)
    mixed.set_weights([alpha * x + (1.0 - alpha) * y for x, y in zip(a, b)])
    return mixed
