"""The parity gate: every export, run by the runtime a device would use, against the float Keras model.

Two tiers. Float formats must match the Keras outputs within the registry's `atol` and agree on every
top-1 that the float model decides by at least that much (a near-tie closer than the tolerance, which
float16's rounding of the weights may turn either way, is counted but excused). Quantized formats are
judged by their accuracy drop on the full test set (and a floor on top-1 agreement), since their
outputs are not meant to match bit for bit.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import numpy as np

from edge_mnist.errors import ModelError, ParityError
from edge_mnist.export.formats import Format
from edge_mnist.runtime import Predictor, load_tflite_interpreter_class

DEFAULT_MAX_DROP = 0.3  # percentage points of test accuracy an int8 model may lose
DEFAULT_MIN_AGREEMENT = 98.0  # % of test images whose top-1 must match the float model's
# TensorFlow Lite Micro against LiteRT's reference kernels on the same file: top-1 equal on every digit,
# outputs at most this many quantization steps apart. Not 1: TFLite Micro's fully-connected kernel
# requantizes a logit one step off LiteRT's on some digits (25 of 10,000 for the edge preset; measured
# by scripts/tflm_vs_reference.py), and the softmax after it can turn one step of a logit into two.
MICRO_MAX_STEPS = 2


@dataclass(frozen=True)
class Reference:
    """The float Keras model's scores on the test set: what every export is compared with."""

    scores: np.ndarray  # (N, 10) float32
    labels: np.ndarray  # (N,)

    @property
    def top1(self) -> np.ndarray:
        return self.scores.argmax(axis=1)

    @property
    def accuracy(self) -> float:
        return float((self.top1 == self.labels).mean() * 100)


@dataclass(frozen=True)
class Parity:
    """The gate's figures for one exported file. Percentages are 0-100."""

    format: str
    quantized: bool
    accuracy: float
    reference_accuracy: float
    delta_pp: float  # accuracy - reference accuracy, percentage points
    agreement: float  # % of images with the same top-1 as the float model
    max_abs_diff: float  # max |export output - keras output| over every score
    tolerance: str  # the rule this format was held to, in words
    failure: str | None  # None when it passed; else what broke, e.g. "accuracy drop 1.20 pp > 0.3 pp"
    top1: np.ndarray = field(repr=False, compare=False)  # the export's predictions, for plots
    runtime: str | None = None  # what ran the file, e.g. "ai-edge-litert 2.3.0"
    ties: int = 0  # float formats: top-1 changes excused as the float model's near-ties (closer than atol)
    micro: dict | None = None  # TensorFlow Lite Micro only: flash and arena bytes, the reference-kernel comparison

    @property
    def passed(self) -> bool:
        return self.failure is None

    def figures(self) -> dict:
        """Everything but the predictions: what the manifest and --json record."""
        figures = asdict(self)
        del figures["top1"]
        return {**figures, "passed": self.passed}


def reference_scores(keras_model, images: np.ndarray, labels: np.ndarray) -> Reference:
    from edge_mnist.data import normalize

    scores = np.asarray(keras_model.predict(normalize(images), batch_size=1024, verbose=0), dtype=np.float32)
    return Reference(scores, np.asarray(labels))


def check(
    predictor: Predictor,
    fmt: Format,
    reference: Reference,
    images: np.ndarray,
    max_drop: float = DEFAULT_MAX_DROP,
    min_agreement: float = DEFAULT_MIN_AGREEMENT,
) -> Parity:
    """Run the loaded export on `images` with the runtime a device would use and judge it against `reference`."""
    scores = predictor.predict(images)
    if scores.shape != reference.scores.shape:
        raise ModelError(f"{predictor.path.name}: outputs shape {scores.shape[1:]} per image, expected {reference.scores.shape[1:]} (ten digit scores)")
    result = replace(judge(scores, fmt, reference, max_drop, min_agreement), runtime=f"{predictor.runtime.value} {predictor.runtime_version}")
    return _against_reference_kernels(result, predictor, scores, images) if fmt.runtime == "tflm" else result


def _against_reference_kernels(result: Parity, predictor: Predictor, scores: np.ndarray, images: np.ndarray) -> Parity:
    """TensorFlow Lite Micro against LiteRT's reference kernels on the same bytes: the same top-1 on every
    image and outputs within MICRO_MAX_STEPS quantization steps (XNNPACK rounds differently, so it is not the yardstick)."""
    from edge_mnist.export.tflm import read_model

    _, runtime, _ = load_tflite_interpreter_class()
    twin = Predictor(predictor.path, runtime=runtime, reference_kernels=True)
    twin_scores = twin.predict(images)
    name = f"{twin.runtime.value} {twin.runtime_version} reference kernels"
    differ = int((scores.argmax(axis=1) != twin_scores.argmax(axis=1)).sum())
    steps = np.rint(np.abs(scores - twin_scores) / predictor.output_quant.scale).astype(int)
    micro = {
        "flash_bytes": len(read_model(predictor.path)),
        "arena_bytes": predictor.arena_bytes,
        "reference": name,
        "reference_agreement": 100.0 * (len(scores) - differ) / len(scores),
        "reference_max_steps": int(steps.max()),
        # How many of the N x 10 outputs are 0, 1, 2, ... steps apart.
        "reference_steps_histogram": np.bincount(steps.ravel()).tolist(),
    }
    failure = result.failure
    if failure is None and differ:
        failure = f"top-1 differs from {name} on {differ} digits"
    elif failure is None and steps.max() > MICRO_MAX_STEPS:
        failure = f"outputs {steps.max()} quantization steps from {name} (at most {MICRO_MAX_STEPS})"
    tolerance = f"{result.tolerance}, top-1 = LiteRT reference kernels on every digit, outputs within {MICRO_MAX_STEPS} steps"
    return replace(result, micro=micro, failure=failure, tolerance=tolerance)


def judge(scores: np.ndarray, fmt: Format, reference: Reference, max_drop: float = DEFAULT_MAX_DROP, min_agreement: float = DEFAULT_MIN_AGREEMENT) -> Parity:
    """The gate's verdict on an export's (N, 10) scores for the reference's images."""
    top1 = scores.argmax(axis=1)
    accuracy = float((top1 == reference.labels).mean() * 100)
    delta = accuracy - reference.accuracy
    agreement = float((top1 == reference.top1).mean() * 100)
    max_diff = float(np.abs(scores - reference.scores).max())
    failure, ties = None, 0
    if fmt.max_drop is not None:
        max_drop = min(max_drop, fmt.max_drop)
    if fmt.quantized:
        tolerance = f"drop <= {max_drop:g} pp, agreement >= {min_agreement:g}%"
        # Accuracies are multiples of 100/N: without the slack, a drop of exactly the limit could fail on rounding.
        if -delta > max_drop + 1e-9:
            failure = f"accuracy drop {-delta:.2f} pp > {max_drop:g} pp"
        elif agreement < min_agreement:
            failure = f"top-1 agreement {agreement:.2f}% < {min_agreement:g}%"
    else:
        # How far the float model's own top-1 led the class the export chose: a lead under the tolerance
        # is a tie the export cannot be held to (seen: 5.6e-5 on a tiny cnn, flipped by float16).
        flipped = np.nonzero(top1 != reference.top1)[0]
        lead = reference.scores[flipped, reference.top1[flipped]] - reference.scores[flipped, top1[flipped]]
        ties = int((lead < fmt.atol).sum())
        tolerance = f"max |diff| <= {fmt.atol:g}, top-1 agreement 100% but for float ties closer than that"
        if max_diff > fmt.atol:
            failure = f"max |diff| {max_diff:.2e} > {fmt.atol:g}"
        elif len(flipped) > ties:
            failure = f"top-1 changed on {len(flipped) - ties} images the float model decides by {fmt.atol:g} or more (agreement {agreement:.2f}%)"
    return Parity(fmt.name, fmt.quantized, accuracy, reference.accuracy, delta, agreement, max_diff, tolerance, failure, top1, ties=ties)


def failure_line(results: list[Parity]) -> str | None:
    """One line naming every failed format and what broke; None when every one passed."""
    failed = [r for r in results if not r.passed]
    return "parity gate failed: " + "; ".join(f"{r.format} ({r.failure})" for r in failed) if failed else None


def enforce(results: list[Parity]) -> None:
    """Raise one ParityError naming every failed format; its first line alone says what broke."""
    head = failure_line(results)
    if head is None:
        return
    lines = [
        f"  {r.format:<15} {'pass' if r.passed else 'FAIL'}  max |diff| {r.max_abs_diff:.2e}  delta {r.delta_pp:+.2f} pp  agreement {r.agreement:.2f}%"
        for r in results
    ]
    raise ParityError("\n".join([head, *lines]))
