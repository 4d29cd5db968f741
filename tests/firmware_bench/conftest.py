"""Foreign models: MNIST classifiers this tool did not make, in the layouts users bring from tutorials.

Every one carries the tiny mlp's real weights behind a different input layout, dtype, pixel scaling
and output kind, so a correct reading of each reproduces `mlp_reference` (the same weights run in
numpy) and a wrong one shows up as lost accuracy. Built with Keras + the TFLite converter and with
onnx.helper, once per session.
"""
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest


@dataclass(frozen=True)
class Foreign:
    path: Path
    layout: str  # what detection must report
    input_dtype: str
    output_kind: str
    scaling: str  # the scaling the model was built for
    inferred: bool  # whether the model itself says so (quantization range or raw integer input)


@pytest.fixture(scope="session")
def mlp_weights(tiny_models):
    """[(W, b), ...] of the tiny mlp's three Dense layers (784-512-512-10)."""
    from edge_mnist.models import load_keras_model

    model = load_keras_model(tiny_models["mlp"])
    return [tuple(layer.get_weights()) for layer in model.layers if layer.__class__.__name__ == "Dense"]


@pytest.fixture(scope="session")
def mlp_reference(mnist, mlp_weights):
    """The tiny mlp's top-1 on the test set, computed with numpy alone: what every foreign copy must give."""
    x = mnist.x_test.reshape(-1, 784).astype(np.float32) / 255
    for i, (w, b) in enumerate(mlp_weights):
        x = x @ w + b
        x = np.maximum(x, 0) if i < len(mlp_weights) - 1 else x
    return x.argmax(axis=1)


def _keras_mlp(weights, input_shape, batch_size, rescale, softmax=True, argmax=False):
    """The mlp behind `Rescaling(*rescale)` mapping the model's input range back to [0, 1]."""
    import keras

    inputs = keras.Input(shape=input_shape, batch_size=batch_size)
    x = keras.layers.Rescaling(*rescale)(keras.layers.Reshape((784,))(inputs))
    for i, (w, b) in enumerate(weights):
        last = i == len(weights) - 1
        dense = keras.layers.Dense(w.shape[1], activation="softmax" if last and softmax else None if last else "relu")
        x = dense(x)
        dense.set_weights([w, b])
    if argmax:
        import tensorflow as tf  # keras.ops.argmax lowers to ops TFLite lacks; tf.argmax is ARG_MAX

        x = keras.layers.Lambda(lambda t: tf.argmax(t, axis=-1, output_type=tf.int32))(x)
    return keras.Model(inputs, x)


def _tflite(model, calibration=None, input_dtype=None, output_dtype=None) -> bytes:
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if calibration is not None:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([calibration[i : i + 1]] for i in range(len(calibration)))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = input_dtype
        converter.inference_output_type = output_dtype or tf.float32
    return converter.convert()


def _keras_32x32():
    import keras

    inputs = keras.Input(shape=(32, 32, 1))
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(inputs)))


def _custom_op_tflite() -> bytes:
    """An op no TFLite kernel implements, kept as a custom op the way accelerator toolchains emit theirs."""
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([1, 28, 28, 1], tf.float32)])
    def model(x):
        return tf.reshape(tf.math.atan(x), [1, 784])[:, :10]

    converter = tf.lite.TFLiteConverter.from_concrete_functions([model.get_concrete_function()], model)
    converter.allow_custom_ops = True
    return converter.convert()


def _onnx(head, tail, weights, input_type, input_shape, output, extra_domain=None) -> bytes:
    """An ONNX graph: `head` nodes turn input "x" into a flat "h_in", the mlp gives "g2", `tail` makes `output`."""
    from onnx import helper, numpy_helper

    constants = {"flat": np.array([-1, 784], np.int64), "std": np.float32(0.3081), "mean": np.float32(0.1307), "full": np.float32(255)}
    init = [numpy_helper.from_array(np.asarray(v), k) for k, v in constants.items()]
    body, src = [], "h_in"
    for i, (w, b) in enumerate(weights):
        init += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(b, f"b{i}")]
        body.append(helper.make_node("Gemm", [src, f"w{i}", f"b{i}"], [f"g{i}"]))
        if i < len(weights) - 1:
            body.append(helper.make_node("Relu", [f"g{i}"], [f"r{i}"]))
            src = f"r{i}"
    graph = helper.make_graph(head + body + tail, "foreign", [helper.make_tensor_value_info("x", input_type, input_shape)], [helper.make_tensor_value_info(*output)], init)
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid(extra_domain, 1)] if extra_domain else [])
    model = helper.make_model(graph, opset_imports=opsets, producer_name="a tutorial")
    model.ir_version = 8  # what onnxruntime of any recent version reads
    return model.SerializeToString()


@pytest.fixture(scope="session")
def foreign_models(mnist, mlp_weights, tmp_path_factory) -> dict[str, Foreign]:
    import tensorflow as tf
    from onnx import TensorProto, helper

    out = tmp_path_factory.mktemp("foreign")
    calib = mnist.x_train[:200].astype(np.float32)
    models = {}

    def save(name, data, *spec):
        path = out / name
        path.write_bytes(data)
        models[name] = Foreign(path, *spec)

    # Keras tutorial style, fed 0-255 floats, batch fixed at 1, 28x28 without a channel axis.
    save("float255.tflite", _tflite(_keras_mlp(mlp_weights, (28, 28), 1, (1 / 255, 0.0))), "28x28", "float32", "probabilities", "0-255", False)
    # Full int8, int8 I/O, input calibrated on [-1, 1] pixels, flat 784, dynamic batch, int8 logits out (no softmax).
    signed = _keras_mlp(mlp_weights, (784,), None, (0.5, 0.5), softmax=False)
    save("int8_signed_logits.tflite", _tflite(signed, calib.reshape(-1, 784) / 127.5 - 1, tf.int8, tf.int8), "flat 784", "int8", "logits", "-1-1", True)
    # uint8 input calibrated on raw 0-255 values, NHWC, output a bare class index (ARG_MAX).
    index = _keras_mlp(mlp_weights, (28, 28, 1), None, (1 / 255, 0.0), argmax=True)
    save("uint8_index.tflite", _tflite(index, calib[..., None], tf.uint8), "NHWC 28x28x1", "uint8", "class index", "0-255", True)

    # PyTorch tutorial style: NCHW, mean/std normalised, logits out; the graph undoes the normalisation.
    unstandardise = [
        helper.make_node("Mul", ["x", "std"], ["s"]),
        helper.make_node("Add", ["s", "mean"], ["a"]),
        helper.make_node("Reshape", ["a", "flat"], ["h_in"]),
    ]
    logits = [helper.make_node("Identity", ["g2"], ["logits"])]
    data = _onnx(unstandardise, logits, mlp_weights, TensorProto.FLOAT, ["N", 1, 28, 28], ("logits", TensorProto.FLOAT, ["N", 10]))
    save("nchw_meanstd.onnx", data, "NCHW 1x28x28", "float32", "logits", "mean-std", False)
    # Raw uint8 pixels in, batch fixed at 1, a bare class index out.
    raw = [
        helper.make_node("Cast", ["x"], ["f"], to=TensorProto.FLOAT),
        helper.make_node("Div", ["f", "full"], ["d"]),
        helper.make_node("Reshape", ["d", "flat"], ["h_in"]),
    ]
    argmax = [helper.make_node("ArgMax", ["g2"], ["digit"], axis=1, keepdims=0)]
    data = _onnx(raw, argmax, mlp_weights, TensorProto.UINT8, [1, 784], ("digit", TensorProto.INT64, [1]))
    save("uint8_index.onnx", data, "flat 784", "uint8", "class index", "0-255", True)
    return models


@pytest.fixture(scope="session")
def unrunnable_models(tiny_exports, tmp_path_factory) -> dict[str, Path]:
    """Models the bench must refuse in one line: accelerator ops, a wrong input, corrupt bytes."""
    from onnx import TensorProto, helper

    out = tmp_path_factory.mktemp("unrunnable")
    paths = {}

    def save(name, data):
        paths[name] = out / name
        paths[name].write_bytes(data)

    npu = [helper.make_node("NpuFlatten", ["x"], ["h_in"], domain="com.example.npu")]
    logits = [helper.make_node("Identity", ["g0"], ["logits"])]
    weights = [(np.zeros((784, 10), np.float32), np.zeros(10, np.float32))]
    save("npu_op.onnx", _onnx(npu, logits, weights, TensorProto.FLOAT, [1, 28, 28, 1], ("logits", TensorProto.FLOAT, [1, 10]), "com.example.npu"))
    save("custom_op.tflite", _custom_op_tflite())
    save("big_input.tflite", _tflite(_keras_32x32()))
    whole = tiny_exports["tflite-int8"].read_bytes()
    save("truncated.tflite", whole[: len(whole) // 2])
    save("garbage.onnx", b"this is not a protobuf" * 10)
    save("empty.tflite", b"")
    return paths


@pytest.fixture(scope="session")
def bench_report(tiny_exports, tmp_path_factory):
    """One real bench of the tiny int8 TFLite and float ONNX cnn, each in its own child process."""
    from edge_mnist.firmware_bench.bench import run_bench
    from edge_mnist.firmware_bench.measure import Settings

    outputs = tmp_path_factory.mktemp("bench_outputs")
    models = [tiny_exports["tflite-int8"], tiny_exports["onnx"]]
    report = run_bench(models, Settings(runs=50, warmup=5), [1], outputs_dir=outputs)
    report.settings["outputs_dir"] = str(outputs)  # for the tests only; not part of the schema
    return report
