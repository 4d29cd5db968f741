"""The gate's rules, on hand-made scores where the right verdict is known exactly."""
import numpy as np
import pytest

from edge_mnist.errors import ParityError
from edge_mnist.export.formats import FORMATS
from edge_mnist.export.parity import Reference, enforce, judge

N = 1000


def _onehot(top1, confidence=0.9):
    scores = np.full((len(top1), 10), (1 - confidence) / 9, np.float32)
    scores[np.arange(len(top1)), top1] = confidence
    return scores


@pytest.fixture
def reference():
    """A float model right on 990 of 1000 images (99.0%)."""
    labels = np.arange(N) % 10
    top1 = labels.copy()
    top1[:10] = (labels[:10] + 1) % 10
    return Reference(_onehot(top1), labels)


def _flip(reference, indices, to_correct):
    """The reference's predictions with `indices` changed to the right digit, or to a wrong one."""
    top1 = reference.top1.copy()
    top1[indices] = reference.labels[indices] if to_correct else (reference.labels[indices] + 2) % 10
    return _onehot(top1)


def test_identical_outputs_pass_every_format(reference):
    for fmt in FORMATS.values():
        result = judge(reference.scores.copy(), fmt, reference)
        assert result.passed and result.agreement == 100 and result.delta_pp == 0 and result.max_abs_diff == 0


def test_quantized_drop_at_the_limit_passes_and_beyond_fails(reference):
    int8 = FORMATS["tflite-int8"]
    three_worse = _flip(reference, np.arange(10, 13), to_correct=False)  # 0.3 pp lost
    result = judge(three_worse, int8, reference, max_drop=0.3)
    assert result.accuracy == pytest.approx(98.7) and result.delta_pp == pytest.approx(-0.3)
    assert result.passed and result.agreement == pytest.approx(99.7)
    four_worse = _flip(reference, np.arange(10, 14), to_correct=False)
    result = judge(four_worse, int8, reference, max_drop=0.3)
    assert not result.passed and result.failure == "accuracy drop 0.40 pp > 0.3 pp"


def test_quantized_gain_passes_but_low_agreement_fails(reference):
    int8 = FORMATS["onnx-int8"]
    # Fixing the float model's 10 mistakes is a gain, yet 1% of top-1s changed.
    better = _flip(reference, np.arange(10), to_correct=True)
    assert judge(better, int8, reference).passed
    result = judge(better, int8, reference, min_agreement=99.5)
    assert result.delta_pp == pytest.approx(1.0) and result.agreement == pytest.approx(99.0)
    assert not result.passed and result.failure == "top-1 agreement 99.00% < 99.5%"


def test_float_format_fails_on_output_difference_even_with_same_top1(reference):
    fmt = FORMATS["tflite-float32"]
    scores = reference.scores + np.float32(2e-4)
    result = judge(scores, fmt, reference)
    assert result.agreement == 100 and not result.passed
    assert result.failure.startswith("max |diff| 2.0") and "> 0.0001" in result.failure


def _near_tie(reference, lead):
    """The reference with image 501 a call between digits 1 and 2 by `lead`, and an export that calls it the
    other way with every output within `lead` of the float model's."""
    scores = reference.scores.copy()
    scores[501] = 0
    scores[501, [1, 2]] = [0.5 + lead / 2, 0.5 - lead / 2]
    flipped = scores.copy()
    flipped[501, [1, 2]] = [0.5 - lead / 20, 0.5 + lead / 20]
    return Reference(scores, reference.labels), flipped


def test_a_float_format_may_turn_a_tie_closer_than_its_tolerance(reference):
    # The float model's two best outputs 6e-5 apart: within ONNX's 1e-4, either call is the model's.
    fmt = FORMATS["onnx"]
    tied, scores = _near_tie(reference, 6e-5)
    result = judge(scores, fmt, tied)
    assert result.max_abs_diff < fmt.atol and result.agreement == pytest.approx(99.9)
    assert result.passed and result.ties == 1 and result.figures()["ties"] == 1


def test_a_float_format_fails_on_a_top1_the_float_model_decides(reference):
    # 1.5e-4 apart: more than ONNX's tolerance, yet each output moved by less than it.
    fmt = FORMATS["onnx"]
    decided, scores = _near_tie(reference, 1.5e-4)
    result = judge(scores, fmt, decided)
    assert result.max_abs_diff < fmt.atol and result.ties == 0
    assert not result.passed and result.failure == "top-1 changed on 1 images the float model decides by 0.0001 or more (agreement 99.90%)"


def test_enforce_names_every_failed_format_on_its_first_line(reference):
    ok = judge(reference.scores, FORMATS["tflite-int8"], reference)
    bad = judge(_flip(reference, np.arange(10, 20), to_correct=False), FORMATS["onnx-int8"], reference)
    enforce([ok])
    with pytest.raises(ParityError) as caught:
        enforce([ok, bad])
    assert str(caught.value).splitlines()[0] == "parity gate failed: onnx-int8 (accuracy drop 1.00 pp > 0.3 pp)"


def test_figures_are_json_ready_and_omit_the_predictions(reference):
    figures = judge(reference.scores, FORMATS["tflite-int8"], reference).figures()
    assert "top1" not in figures and figures["passed"] is True
    assert set(figures) >= {"format", "accuracy", "reference_accuracy", "delta_pp", "agreement", "max_abs_diff", "tolerance"}
