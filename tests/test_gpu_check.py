"""The static GPU-delegate check: rules on op options, shapes, ops and integer computation."""

import copy

import pytest
from ai_edge_litert import schema_py_generated as schema

from bgseg import flatbuffer
from bgseg.export import QuantizationConfig, gpu_check

SIZE = 32


@pytest.fixture(scope="session")
def graph_model():
    """`.tflite` bytes of a small float model with conv, depthwise, pool, resize, concat, add."""
    import keras

    from bgseg.export.convert import convert_keras

    inputs = keras.Input((SIZE, SIZE, 3), name="input")
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.DepthwiseConv2D(3, padding="same")(x)
    y = keras.layers.MaxPooling2D()(x)
    y = keras.layers.UpSampling2D(interpolation="bilinear")(y)
    x = keras.layers.Concatenate()([x, keras.layers.Add()([x, y])])
    model = keras.Model(inputs, keras.layers.Conv2D(1, 1, activation="sigmoid")(x))
    return convert_keras(model, QuantizationConfig.float32())


def mutate(data, op_name, change):
    """Apply `change(op, graph)` to the first op called `op_name`; return the ModelT."""
    model = flatbuffer.read_model(data)
    graph = model.subgraphs[0]
    code = getattr(schema.BuiltinOperator, op_name)
    for op in graph.operators:
        if flatbuffer.builtin_code(model.operatorCodes[op.opcodeIndex]) == code:
            change(op, graph)
            return model
    raise AssertionError(f"no {op_name} in the test model")


def problems(model):
    return "\n".join(gpu_check.check_model(model).problems)


def test_clean_model_passes(graph_model):
    report = gpu_check.check_model(graph_model)
    assert report.ok, report.summary()
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "RESIZE_BILINEAR", "CONCATENATION",
            "ADD"} <= set(report.op_counts)


@pytest.mark.parametrize("op_name, change, message", [
    ("RESIZE_BILINEAR", lambda op, g: (setattr(op.builtinOptions, "alignCorners", True),
                                       setattr(op.builtinOptions, "halfPixelCenters", True)),
     "align_corners and half_pixel_centers"),
    ("DEPTHWISE_CONV_2D", lambda op, g: setattr(op.builtinOptions, "depthMultiplier", 2),
     "depth multiplier 2"),
    ("CONV_2D", lambda op, g: setattr(op.builtinOptions, "fusedActivationFunction",
                                      schema.ActivationFunctionType.SIGN_BIT), "SIGN_BIT"),
    ("CONV_2D", lambda op, g: setattr(op.builtinOptions, "strideW", 0), "strides"),
    ("MAX_POOL_2D", lambda op, g: setattr(op.builtinOptions, "filterWidth", 0), "pool filter"),
    ("CONCATENATION", lambda op, g: setattr(op.builtinOptions, "axis", 0), "batch axis"),
    ("ADD", lambda op, g: setattr(g.tensors[op.inputs[1]], "shape", [1, SIZE, 3, 8]),
     "do not broadcast"),
])
def test_option_rules(graph_model, op_name, change, message):
    assert message in problems(mutate(graph_model, op_name, change))


def test_dynamic_shape_signature_fails(graph_model):
    model = flatbuffer.read_model(graph_model)
    graph = model.subgraphs[0]
    graph.tensors[graph.inputs[0]].shapeSignature = [-1, SIZE, SIZE, 3]
    assert "dynamic shape" in problems(model)


def test_real_dynamic_batch_conversion_fails():
    import keras
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    inputs = keras.Input((SIZE, SIZE, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid")(
        keras.layers.Reshape((SIZE, SIZE, 3))(inputs)))
    serve = tf.function(lambda x: model(x), input_signature=[tf.TensorSpec([None, SIZE, SIZE, 3])])
    frozen = convert_variables_to_constants_v2(serve.get_concrete_function())
    data = tf.lite.TFLiteConverter.from_concrete_functions([frozen]).convert()
    report = gpu_check.check_model(data)
    assert not report.ok and any("dynamic shape" in p for p in report.problems), report.summary()


def test_custom_and_unknown_ops_fail(graph_model):
    model = flatbuffer.read_model(graph_model)
    custom = schema.OperatorCodeT()
    custom.builtinCode = custom.deprecatedBuiltinCode = schema.BuiltinOperator.CUSTOM
    custom.customCode = "FlexBitwiseAnd"
    model.operatorCodes.append(custom)
    model.subgraphs[0].operators[0].opcodeIndex = len(model.operatorCodes) - 1
    assert "CUSTOM(FlexBitwiseAnd) is not supported" in problems(model)


def test_integer_computation_is_cpu_only_not_a_problem(graph_model):
    model = flatbuffer.read_model(graph_model)
    graph = model.subgraphs[0]
    for index in (graph.inputs[0], graph.outputs[0]):
        graph.tensors[index].type = schema.TensorType.INT8
    report = gpu_check.check_model(copy.deepcopy(model))
    assert not report.problems and not report.ok
    assert any("needs float I/O" in reason for reason in report.cpu_only)
    assert any("integer activations" in reason for reason in report.cpu_only)
    assert "CPU/NNAPI" in report.summary()


def test_command_line(graph_model, tmp_path, capsys):
    good = tmp_path / "good.tflite"
    good.write_bytes(graph_model)
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(
        flatbuffer.write_model(
            mutate(
                graph_model,
                "DEPTHWISE_CONV_2D",
                lambda op, g: setattr(op.builtinOptions, "depthMultiplier", 3),
            )
        )
    )
    from bgseg.cli import main

    assert main(["check-gpu", str(good)]) == 0
    assert main(["check-gpu", str(good), str(bad)]) == 1
    assert "depth multiplier 3" in capsys.readouterr().out
    (bad.parent / "text.tflite").write_text("not a model")
    assert main(["check-gpu", str(bad.parent / "text.tflite")]) == 1
    assert "cannot read it as a .tflite model" in capsys.readouterr().err
