"""`edge-mnist bench` through click: the table, the JSON, --compare, and one line + exit 2 on bad input."""
import json

import pytest
from click.testing import CliRunner

from edge_mnist.cli import cli

QUICK = ["--threads", "1", "--runs", "10", "--limit", "500"]


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def assert_one_line_exit_2(result, *needles):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    error = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(error) == 1, result.output
    for needle in needles:
        assert needle in error[0]


def test_bench_prints_the_table_and_writes_the_json(tiny_exports, tmp_path):
    out = tmp_path / "bench.json"
    result = invoke("bench", tiny_exports["tflite-int8"], tiny_exports["onnx"], *QUICK, "--json", out)
    assert result.exit_code == 0, result.output
    for column in ("format", "runtime", "size", "accuracy", "p50 us", "p99 us", "img/s", "cold ms", "peak RSS", "overhead"):
        assert column in result.stdout
    assert "tflite-int8" in result.stdout and "onnxruntime" in result.stdout
    report = json.loads(out.read_text())
    assert [r["model"] for r in report["results"]] == ["cnn.int8.tflite", "cnn.float32.onnx"]
    assert f"report: {out}" in result.stdout


def test_bench_takes_a_folder(tiny_exports, tmp_path):
    result = invoke("bench", tiny_exports["tflite-int8"].parent, *QUICK, "--json", tmp_path / "b.json")
    assert result.exit_code == 0, result.output
    formats = {r["format"] for r in json.loads((tmp_path / "b.json").read_text())["results"]}
    assert formats == {"tflite-float32", "tflite-int8", "tflite-uint8", "onnx"}


def test_compare_puts_devices_side_by_side_with_a_chart(bench_report, tmp_path):
    desktop, other = tmp_path / "desktop.json", tmp_path / "other.json"
    desktop.write_text(json.dumps(bench_report.to_json()))
    # A second report of the same shape; the name is changed only to tell the columns apart.
    renamed = {**bench_report.to_json(), "machine": {**bench_report.machine, "device": "second-box"}}
    other.write_text(json.dumps(renamed))
    chart = tmp_path / "chart.png"
    result = invoke("bench", "--compare", desktop, other, "--chart", chart)
    assert result.exit_code == 0, result.output
    assert "second-box acc" in result.stdout and f"{bench_report.machine['device']} acc" in result.stdout
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_compare_needs_two_reports(bench_report, tmp_path):
    path = tmp_path / "one.json"
    path.write_text(json.dumps(bench_report.to_json()))
    result = invoke("bench", "--compare", path)
    assert result.exit_code == 2 and "two or more" in result.output


def test_compare_refuses_a_file_that_is_not_a_report(bench_report, tmp_path):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(bench_report.to_json()))
    bad.write_text("[1, 2]")
    assert_one_line_exit_2(invoke("bench", "--compare", good, bad, "--chart", tmp_path / "c.png"), "not a bench JSON report")
    assert not (tmp_path / "c.png").exists()


def test_missing_model_is_one_line(tmp_path):
    assert_one_line_exit_2(invoke("bench", tmp_path / "missing.tflite", "--json", tmp_path / "b.json"), "model not found")


def test_missing_test_set_names_the_fix(tiny_exports, tmp_path):
    result = invoke("bench", tiny_exports["tflite-int8"], "--data", tmp_path / "none.npz", "--json", tmp_path / "b.json")
    assert_one_line_exit_2(result, "MNIST data not found", "--data")


def test_runtime_not_installed_names_what_to_install(tiny_exports, tmp_path):
    try:
        import tflite_runtime  # noqa: F401
    except ImportError:
        result = invoke("bench", tiny_exports["tflite-int8"], "--runtime", "tflite-runtime", *QUICK, "--json", tmp_path / "b.json")
        assert_one_line_exit_2(result, "tflite-runtime is not installed", "pip install tflite-runtime")
    else:
        pytest.skip("tflite-runtime is installed here")


@pytest.mark.parametrize("threads", ["0", "two", ","])
def test_bad_thread_counts_are_refused(tiny_exports, threads, tmp_path):
    result = invoke("bench", tiny_exports["tflite-int8"], "--threads", threads, "--json", tmp_path / "b.json")
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_a_failed_bench_leaves_an_earlier_report_untouched(unrunnable_models, tiny_exports, tmp_path):
    out = tmp_path / "bench.json"
    out.write_text("earlier report")
    result = invoke("bench", tiny_exports["tflite-int8"], unrunnable_models["truncated.tflite"], *QUICK, "--json", out)
    assert_one_line_exit_2(result, "truncated.tflite")
    assert out.read_text() == "earlier report"
    assert [p.name for p in tmp_path.iterdir()] == ["bench.json"]
