"""The format registry: one entry per format, read by the CLI, the verifier and the bench."""
import pytest

from edge_mnist.errors import FormatError
from edge_mnist.export.formats import FORMATS, INT8_DEFAULT, format_of, parse_formats


def test_registry_entries_are_consistent():
    suffixes = [f.suffix for f in FORMATS.values()]
    assert len(set(suffixes)) == len(suffixes)
    for fmt in FORMATS.values():
        assert fmt.runtime in ("tflite", "onnx", "tflm") and fmt.suffix.endswith({"tflm": ".cc"}.get(fmt.runtime, "." + fmt.runtime))
        assert not fmt.companions or fmt.runtime == "tflm"
        # Float formats are held to an output tolerance, quantized ones to an accuracy drop.
        assert (fmt.atol is None) == fmt.quantized
        assert not fmt.calibrated or fmt.quantized
    # Every runtime has a float32 format: the baseline for "size vs float".
    assert {f.runtime for f in FORMATS.values() if not f.quantized} == {"tflite", "onnx"}
    assert FORMATS[INT8_DEFAULT].calibrated


def test_parse_formats_keeps_order_and_drops_repeats():
    assert [f.name for f in parse_formats("onnx-int8, tflite-int8,onnx-int8")] == ["onnx-int8", "tflite-int8"]


@pytest.mark.parametrize("names", ["tflite-int4", "", "onnx,bogus"])
def test_parse_formats_refuses_unknown_or_no_names(names):
    with pytest.raises(FormatError, match="valid formats: tflite-float32"):
        parse_formats(names)


@pytest.mark.parametrize("name", list(FORMATS))
def test_format_of_finds_every_suffix(name):
    assert format_of(f"/x/cnn{FORMATS[name].suffix}").name == name


def test_format_of_refuses_an_unknown_suffix():
    with pytest.raises(FormatError, match="matches no export format"):
        format_of("cnn.tflite")


def test_unknown_format_name_is_one_line_and_exit_2(invoke, tmp_path):
    # Refused before the model is even looked for.
    result = invoke("export", "--formats", "tflite-int8,tflite-int4", "--artifacts", tmp_path)
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0
    assert "unknown format tflite-int4" in result.output
