"""`edge-mnist bench --runtime tflite-micro`: TensorFlow Lite Micro's accuracy and arena, its desktop latency labelled as such."""
import json

from click.testing import CliRunner

from edge_mnist.cli import cli

QUICK = ["--runs", "20", "--limit", "1000"]


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_bench_runs_a_tflite_file_in_tflite_micro(small_edge_int8, tmp_path):
    out = tmp_path / "bench.json"
    result = invoke("bench", small_edge_int8, "--runtime", "tflite-micro", *QUICK, "--json", out)
    assert result.exit_code == 0, result.output
    (r,) = json.loads(out.read_text())["results"]  # one thread only, whatever the cores: as on a microcontroller
    assert r["runtime"] == "tflite-micro" and r["threads"] == 1 and r["test_images"] == 1000
    assert r["accuracy"] > 0.95 and r["tflm"]["arena_bytes"] > 1000 and r["tflm"]["kernels"] == "reference"
    assert "not a microcontroller" in r["tflm"]["timing"] and not r["tensorflow_imported"]
    assert f"tensor arena {r['tflm']['arena_bytes']:,} bytes (measured)" in result.stdout
    assert "NOT a microcontroller timing" in result.stdout


def test_tflite_micro_and_litert_agree_on_the_same_file(small_edge_int8, mnist):
    from edge_mnist.runtime import Predictor, Runtime

    micro = Predictor(small_edge_int8, runtime=Runtime.TFLITE_MICRO).classify(mnist.x_test[:500])
    reference = Predictor(small_edge_int8, runtime=Runtime.LITERT, reference_kernels=True).classify(mnist.x_test[:500])
    assert (micro == reference).all()


def test_a_float_model_is_refused_in_one_line(tiny_exports, tmp_path):
    result = invoke("bench", tiny_exports["tflite-float32"], "--runtime", "tflite-micro", *QUICK, "--json", tmp_path / "b.json")
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and "cnn.float32.tflite: a float model" in errors[0]
    assert not (tmp_path / "b.json").exists()
