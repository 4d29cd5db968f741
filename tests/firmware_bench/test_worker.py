"""firmware_bench.worker: the child's arguments round-trip, and its errors come back as one JSON line."""
import json
from pathlib import Path

from edge_mnist.firmware_bench.measure import Settings
from edge_mnist.firmware_bench.worker import args_for, main, parse
from edge_mnist.runtime import Runtime, Scaling


def test_args_round_trip():
    settings = Settings(runtime=Runtime.LITERT, threads=2, scaling=Scaling.SIGNED, runs=40, warmup=4, batch=8, limit=100)
    args = parse(args_for(Path("m.tflite"), settings, "data.npz", Path("out.npy")))
    assert (args.model, args.runtime, args.threads, args.scaling) == (Path("m.tflite"), "ai-edge-litert", 2, "-1-1")
    assert (args.runs, args.warmup, args.batch, args.limit, args.data, args.outputs) == (40, 4, 8, 100, "data.npz", Path("out.npy"))


def test_defaults_round_trip():
    args = parse(args_for(Path("m.onnx"), Settings(), None, None))
    assert (args.runtime, args.threads, args.scaling, args.limit, args.data, args.outputs) == (None, None, None, None, None, None)


def test_errors_are_one_json_line_and_exit_2(tmp_path, capsys):
    assert main([str(tmp_path / "missing.tflite"), "--runs", "10"]) == 2
    payload = json.loads(capsys.readouterr().out.strip())
    assert payload["kind"] == "ModelError" and "model file not found" in payload["error"]


def test_measures_one_model(tiny_exports, capsys):
    assert main([str(tiny_exports["tflite-int8"]), "--runs", "10", "--warmup", "2", "--limit", "100", "--threads", "1"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["test_images"] == 100 and result["latency_us"]["runs"] == 10
