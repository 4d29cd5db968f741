"""The model presets of the classic Keras MNIST tutorials, and how each is trained.

Every model takes the same input, float32 (N, 28, 28, 1) in [0, 1], and ends in a softmax, so the
exporters, the verifier, the bench and the camera treat them alike. Keras is imported only when a
model is built.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from edge_mnist.errors import ModelError


class Preset(str, Enum):
    SOFTMAX = "softmax"
    MLP = "mlp"
    MLP_BN = "mlp-bn"
    CNN = "cnn"
    CNN_CAMERA = "cnn-camera"
    EDGE = "edge"


@dataclass(frozen=True)
class Recipe:
    optimizer: str  # "sgd" | "rmsprop" | "adam"
    learning_rate: float
    epochs: int
    batch_size: int
    # "constant" keeps the tutorial's behaviour; "onecycle" warms up then anneals, which lets a
    # large batch converge in far fewer epochs.
    schedule: str = "constant"
    # "mixed_bfloat16" computes in bfloat16 where the CPU has native bf16 (twice as fast here); the
    # weights stay float32 and the saved model is plain float32 either way.
    precision: str = "float32"
    # "none"; "affine" (random turns, shifts and zooms each epoch); "shift" (each image moved by up to 2
    # whole pixels each way, each epoch); "camera" (MNIST plus MNIST redrawn as the camera reader sees
    # handwriting, and non-digits with a flat target: edge_mnist.augment).
    augment: str = "none"


# A small CNN for microcontrollers, in the vocabulary of `small_cnn`; chosen by scripts/sweep_edge.py
# (docs/benchmarks.md, "The edge preset").
EDGE_LAYERS = "c20-p-c40-p-c80-f"
# The camera classifies about 30 crops a frame. A 3x3 convolution of the one-channel image costs XNNPACK's
# int8 kernels about 27 us an image whatever its filter count (the work is per output pixel and tap), so
# the first one strides: 0.41x the time an image for the same MNIST and camera accuracy
# (docs/benchmarks.md, "The camera model's first layer").
CAMERA_LAYERS = "c32/2-c64-p-c128-f-o3"

# The tutorials' recipes, used as-is where they are already fast.
TUTORIAL = {
    Preset.SOFTMAX: Recipe("sgd", 0.5, 20, 128),
    Preset.MLP: Recipe("rmsprop", 0.001, 20, 128),
    Preset.MLP_BN: Recipe("adam", 0.001, 20, 128),
    Preset.CNN: Recipe("adam", 0.001, 12, 128),
}
# The default recipes: the CNN one reaches the tutorial's accuracy in a fraction of its time.
DEFAULT = {
    **TUTORIAL,
    # The tutorial's RMSprop recipe left seeds at 98.48-98.53% here and 98.31% on a Xeon, against a floor
    # of 98.4%; Adam's one-cycle with shifted images (augment "shift") gave 99.06% on seeds 0 and 1.
    Preset.MLP: Recipe("adam", 0.002, 20, 128, schedule="onecycle", augment="shift"),
    # The 7-epoch, batch-256 recipe left seeds at 99.20% (bf16); with shifted images, at 99.27% (bf16) and
    # 99.29% (float32). Batch 128 with a lower peak and an eighth epoch buy margin on both paths.
    Preset.CNN: Recipe("adam", 0.004, 8, 128, schedule="onecycle", precision="mixed_bfloat16", augment="shift"),
}
# The camera's CNN, trained on camera-drawn digits too (no tutorial has it).
DEFAULT[Preset.CNN_CAMERA] = TUTORIAL[Preset.CNN_CAMERA] = Recipe("adam", 0.004, 10, 256, schedule="onecycle", precision="mixed_bfloat16", augment="camera")
# The microcontroller CNN (no tutorial has it): its recipe, like its layers, from scripts/sweep_edge.py.
DEFAULT[Preset.EDGE] = TUTORIAL[Preset.EDGE] = Recipe("adam", 0.004, 12, 128, schedule="onecycle")


def parse_preset(name: str) -> Preset:
    try:
        return Preset(name)
    except ValueError:
        valid = ", ".join(p.value for p in Preset)
        raise ModelError(f"unknown model preset {name!r}; valid presets: {valid}") from None


def build_model(preset: Preset | str):
    """An uncompiled Keras model for `preset`."""
    from edge_mnist._deps import require

    keras = require("keras")
    layers = keras.layers
    preset = parse_preset(preset) if isinstance(preset, str) else preset
    inputs = keras.Input(shape=(28, 28, 1), name="image")
    if preset is Preset.SOFTMAX:
        x = layers.Flatten()(inputs)
    elif preset is Preset.MLP:
        x = layers.Flatten()(inputs)
        for _ in range(2):
            x = layers.Dense(512, activation="relu")(x)
            x = layers.Dropout(0.2)(x)
    elif preset is Preset.MLP_BN:
        x = layers.Flatten()(inputs)
        for units in (580, 325, 125):
            # He init suits ReLU; the bias is redundant ahead of BatchNormalization.
            x = layers.Dense(units, kernel_initializer="he_normal", use_bias=False)(x)
            x = layers.BatchNormalization()(x)
            x = layers.Activation("relu")(x)
            x = layers.Dropout(0.5)(x)
    elif preset is Preset.CNN_CAMERA:
        x = small_cnn(layers, inputs, CAMERA_LAYERS)
    elif preset is Preset.EDGE:
        x = small_cnn(layers, inputs, EDGE_LAYERS)
    else:
        x = layers.Conv2D(32, 3, activation="relu")(inputs)
        x = layers.Conv2D(32, 3, activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
        x = layers.Dropout(0.25)(x)
        x = layers.Flatten()(x)
        x = layers.Dense(128, activation="relu")(x)
        x = layers.Dropout(0.5)(x)
    # The head is float32 even under mixed precision, so the softmax stays numerically sound.
    outputs = layers.Dense(10, activation="softmax", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=preset.value.replace("-", "_"))


def small_cnn(layers, x, spec: str):
    """Stack layers from a spec such as "c16-p-s32-p-c64-gap" and return the last tensor.

    cN: 3x3 convolution with N filters; sN: its separable form (3x3 depthwise, then 1x1 with N
    filters); cN/2, sN/2: with stride 2; each without padding, then BatchNormalization (folded into
    the convolution on export) and ReLU. p: 2x2 max pooling. gap: global average pooling; f:
    flatten; dN: dense layer of N with ReLU; oN: dropout of N tenths.
    """
    for token in spec.split("-"):
        kind, arg = token[0], token[1:]
        strided = kind in "cs" and arg.endswith("/2")
        arg = arg[:-2] if strided else arg
        if token == "gap":
            x = layers.GlobalAveragePooling2D()(x)
        elif token == "f":
            x = layers.Flatten()(x)
        elif token == "p":
            x = layers.MaxPooling2D(2)(x)
        elif kind in "cs" and arg.isdigit():
            conv = layers.Conv2D if kind == "c" else layers.SeparableConv2D
            x = conv(int(arg), 3, strides=2 if strided else 1, use_bias=False)(x)
            x = layers.BatchNormalization()(x)
            x = layers.Activation("relu")(x)
        elif kind == "d" and arg.isdigit():
            x = layers.Dense(int(arg), activation="relu")(x)
        elif kind == "o" and arg.isdigit():
            x = layers.Dropout(int(arg) / 10)(x)
        else:
            raise ModelError(f"unknown layer {token!r} in small CNN spec {spec!r}")
    return x


def load_keras_model(path):
    """Load a `.keras` file in safe mode (no arbitrary code from the file) and check it is an MNIST classifier."""
    from pathlib import Path

    from edge_mnist._deps import require

    keras = require("keras")
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    if path.suffix != ".keras":
        raise ModelError(f"{path}: expected a native Keras .keras file")
    try:
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as exc:  # Keras raises many types for a bad archive; all mean the same to a user
        raise ModelError(f"{path}: cannot load Keras model ({exc.__class__.__name__}: {str(exc).splitlines()[0][:200]})") from None
    in_shape = tuple(model.inputs[0].shape[1:])
    out_shape = tuple(model.outputs[0].shape[1:])
    if in_shape != (28, 28, 1) or out_shape != (10,):
        raise ModelError(f"{path}: not an MNIST classifier (input {in_shape}, output {out_shape}; expected (28, 28, 1) -> (10,))")
    return model
