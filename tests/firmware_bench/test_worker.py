"""firmware_bench.worker: the child's arguments round-trip, and its errors come back as one JSON line."""
import json
from pathlib import Path

from edge_mnist.firmware_bench.measure import Settings
from edge_mnist.firmware_bench.results import BenchResult
from edge_mnist.firmware_bench.worker import args_for, main, parse
from edge_mnist.runtime import Runtime, Scaling


def test_args_round_trip():
    settings = Settings(runtime=Runtime.LITERT, threads=2, scaling=Scaling.SIGNED, runs=40, warmup=4, batch=8, limit=100)
    args = parse(args_for(Path("m.tflite"), settings, "data.npz", Path("out.npy")))
    assert (args.model, args.data, args.outputs) == (Path("m.tflite"), "data.npz", Path("out.npy"))
    assert Settings.from_json(json.loads(args.settings)) == settings


def test_defaults_round_trip():
    args = parse(args_for(Path("m.onnx"), Settings(), None, None))
    assert Settings.from_json(json.loads(args.settings)) == Settings() and (args.data, args.outputs) == (None, None)


def test_errors_are_one_json_line_and_exit_2(tmp_path, capsys):
    assert main([str(tmp_path / "missing.tflite")]) == 2
    payload = json.loads(capsys.readouterr().out.strip())
    assert payload["kind"] == "ModelError" and "model file not found" in payload["error"]


def test_measures_one_model(tiny_exports, capsys):
    settings = Settings(runs=10, warmup=2, limit=100, threads=1)
    assert main(args_for(tiny_exports["tflite-int8"], settings, None, None)) == 0
    result = BenchResult.from_json(json.loads(capsys.readouterr().out.strip().splitlines()[-1]))
    assert result.test_images == 100 and result.latency_us.runs == 10 and result.threads == 1
