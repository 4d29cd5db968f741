"""firmware_bench.bench: model discovery, one child per measurement, the report, and no TensorFlow."""
import json
import sys

import numpy as np
import pytest

from edge_mnist.errors import DataError, EdgeMnistError, ModelError
from edge_mnist.firmware_bench.bench import default_threads, expand_models, load_report, run_bench, write_report
from edge_mnist.firmware_bench.results import SCHEMA, BenchReport
from edge_mnist.firmware_bench.measure import Settings
from edge_mnist.runtime import Predictor, Runtime


def test_expand_models_takes_files_and_folders(tmp_path):
    (tmp_path / "cnn").mkdir()
    for name in ("cnn/cnn.int8.tflite", "cnn/cnn.float32.onnx", "cnn/cnn.keras", "cnn/manifest.json"):
        (tmp_path / name).write_bytes(b"x")
    found = expand_models([tmp_path / "cnn", tmp_path / "cnn" / "cnn.int8.tflite"])
    assert [p.name for p in found] == ["cnn.float32.onnx", "cnn.int8.tflite"]


def test_expand_models_refuses_missing_paths_and_empty_folders(tmp_path):
    with pytest.raises(ModelError, match="model not found"):
        expand_models([tmp_path / "missing.tflite"])
    with pytest.raises(ModelError, match="no .tflite or .onnx model"):
        expand_models([tmp_path])


def test_default_threads_are_one_and_all_cores():
    import os

    assert default_threads() == sorted({1, os.cpu_count()})


def test_report_has_every_measurement(bench_report, tiny_exports):
    assert bench_report.schema == SCHEMA
    machine = bench_report.machine
    assert machine["cores"] >= 1 and machine["python"] == sys.version.split()[0]
    assert set(machine["runtimes"]) == {"ai-edge-litert", "onnxruntime"}
    by_format = {r.format: r for r in bench_report.results}
    assert set(by_format) == {"tflite-int8", "onnx"}
    for r in bench_report.results:
        lat = r.latency_us
        assert 0 < lat.min <= lat.p50 <= lat.p90 <= lat.p99 and lat.runs == 50
        assert r.throughput.batch == 64 and r.throughput.images_per_s > 0
        cold = r.cold_start_ms
        assert cold.load > 0 and cold.first_inference > 0 and cold.total == pytest.approx(cold.load + cold.first_inference)
        assert cold.import_runtime > 0  # a fresh child imports its runtime
        mem = r.memory_bytes
        assert 0 < mem.before_load <= mem.peak and mem.growth == mem.peak - mem.before_load
        assert r.overhead.ratio > 0 and r.process == "child" and r.threads == 1
        assert r.size_bytes == tiny_exports[r.format].stat().st_size
        assert r.test_images == 10000


def test_report_json_round_trips_through_the_dataclasses(bench_report, tmp_path):
    path = tmp_path / "bench.json"
    write_report(path, bench_report)
    data = json.loads(path.read_text())
    assert data["schema"] == SCHEMA and set(data["results"][0]["cold_start_ms"]) == {"load", "first_inference", "total", "import_runtime"}
    assert load_report(path) == bench_report
    assert BenchReport.from_json(bench_report.to_json()) == bench_report


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d["results"][0].pop("latency_us"), "has no 'latency_us'"),
        (lambda d: d["results"][0]["latency_us"].update(p50="fast"), "latency_us.p50 is str"),
        (lambda d: d["results"][0].update(threads=True), "threads is bool"),
        (lambda d: d.update(results={}), "no results list"),
    ],
)
def test_load_report_names_what_is_wrong_in_a_damaged_report(bench_report, tmp_path, edit, message):
    data = bench_report.to_json()
    edit(data)
    path = tmp_path / "damaged.json"
    path.write_text(json.dumps(data))
    with pytest.raises(EdgeMnistError, match=message):
        load_report(path)


def test_accuracy_is_the_models_own_on_the_full_test_set(bench_report, tiny_exports, mnist):
    for r in bench_report.results:
        expected = (Predictor(tiny_exports[r.format]).classify(mnist.x_test) == mnist.y_test).mean()
        assert r.accuracy == pytest.approx(expected, abs=1e-9)
        assert r.correct == round(expected * 10000)


def test_outputs_saved_are_the_models_scores(bench_report, tiny_exports, mnist):
    from pathlib import Path

    saved = np.load(Path(bench_report.settings["outputs_dir"]) / "cnn.int8.tflite.t1.npy", allow_pickle=False)
    assert saved.shape == (10000, 10)
    assert np.array_equal(saved[:100], Predictor(tiny_exports["tflite-int8"]).predict(mnist.x_test[:100]))


def test_device_side_memory_is_a_tenth_of_a_tensorflow_process(run_isolated, tiny_exports):
    # A device process classifying digits (Python, numpy, LiteRT, the int8 model) must peak under a
    # tenth of what `import tensorflow` alone peaks at. Both are measured here, in this run: peak RSS
    # counts mapped library pages, which depend on the page cache (a freshly installed venv maps
    # more), so only the ratio means anything.
    peak = "print(next(int(l.split()[1]) * 1024 for l in open('/proc/self/status') if l.startswith('VmHWM')))\n"
    device = run_isolated(
        "import numpy as np\n"
        "from edge_mnist.runtime import Predictor\n"
        f"p = Predictor({str(tiny_exports['tflite-int8'])!r}, threads=1)\n"
        "images = np.random.default_rng(0).integers(0, 256, (200, 28, 28), dtype=np.uint8)\n"
        "for i in range(200):\n"
        "    p.predict(images[i : i + 1])\n" + peak
    )
    tensorflow = run_isolated("import tensorflow\n" + peak)
    device, tensorflow = (int(out.strip().splitlines()[-1]) for out in (device, tensorflow))
    assert device < tensorflow / 10, f"device process {device / 1e6:.1f} MB, import tensorflow {tensorflow / 1e6:.1f} MB"


def test_bench_child_memory_is_reported_whole(bench_report):
    # The bench child also holds the 7.8 MB test set and batch-64 tensors; the figure is what it is.
    for r in bench_report.results:
        mem = r.memory_bytes
        assert mem.before_load > 7.8e6 and mem.peak >= mem.after_load >= mem.before_load - 1e6


def test_bench_on_tflite_never_imports_tensorflow(bench_report, run_isolated, tiny_exports, tmp_path):
    # In the child processes of the normal run...
    assert not any(r.tensorflow_imported for r in bench_report.results)
    # ...and through the command line, in one fresh process.
    out = run_isolated(
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from edge_mnist.cli import cli\n"
        f"r = CliRunner().invoke(cli, ['bench', {str(tiny_exports['tflite-int8'])!r}, '--in-process', '--threads', '1', '--runs', '10', '--limit', '200', '--json', {str(tmp_path / 'b.json')!r}])\n"
        "assert r.exit_code == 0, r.output\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras')))\n"
    )
    assert out.strip().splitlines()[-1] == "[]"
    assert json.loads((tmp_path / "b.json").read_text())["results"][0]["tensorflow_imported"] is False


def test_in_process_run_measures_in_this_process(tiny_exports):
    report = run_bench([tiny_exports["tflite-int8"]], Settings(runs=10, warmup=2, limit=300), [1, 2], in_process=True)
    assert [(r.threads, r.process, r.test_images) for r in report.results] == [(1, "in-process", 300), (2, "in-process", 300)]


def test_forced_runtime_needs_a_file_it_can_run(tiny_exports):
    with pytest.raises(ModelError, match="runs .onnx files"):
        run_bench([tiny_exports["tflite-int8"]], Settings(runtime=Runtime.ONNXRUNTIME), [1])
    with pytest.raises(ModelError, match="runs .tflite files"):
        run_bench([tiny_exports["onnx"]], Settings(runtime=Runtime.LITERT), [1])


def test_missing_test_set_is_refused_before_any_model_runs(tiny_exports, tmp_path):
    for in_process in (False, True):
        with pytest.raises(DataError, match="MNIST data not found.*--data"):
            run_bench([tiny_exports["tflite-int8"]], Settings(), [1], data=tmp_path / "none.npz", in_process=in_process)


def test_a_model_the_child_refuses_is_one_error_of_the_same_kind(tmp_path):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"\x00" * 64)
    with pytest.raises(ModelError, match="bad.tflite: not a valid TFLite model"):
        run_bench([bad], Settings(runs=10), [1])


def test_a_data_error_in_the_child_stays_a_data_error(tiny_exports, monkeypatch):
    # The parent reads the test set first; a child that cannot (here: the file changed in between) reports why.
    import edge_mnist.firmware_bench.bench as bench

    monkeypatch.setattr(bench, "load_test_set", lambda data: (None, None))
    with pytest.raises(DataError, match="MNIST data not found"):
        run_bench([tiny_exports["tflite-int8"]], Settings(runs=10), [1], data="/nonexistent/mnist.npz")


def test_load_report_refuses_what_bench_did_not_write(tmp_path):
    with pytest.raises(EdgeMnistError, match="not found"):
        load_report(tmp_path / "none.json")
    (tmp_path / "text.json").write_text("{not json")
    with pytest.raises(EdgeMnistError, match="not a bench JSON report"):
        load_report(tmp_path / "text.json")
    (tmp_path / "other.json").write_text(json.dumps({"schema": "something-else", "results": []}))
    with pytest.raises(EdgeMnistError, match="expected schema"):
        load_report(tmp_path / "other.json")
