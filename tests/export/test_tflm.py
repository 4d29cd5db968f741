"""The tflm format: C++ firmware source that compiles alone, gated in TensorFlow Lite Micro itself."""
import json
import shutil
import subprocess

import pytest

from edge_mnist.export import tflm
from edge_mnist.export.parity import MICRO_MAX_STEPS

GXX = shutil.which("g++")
needs_gxx = pytest.mark.skipif(GXX is None, reason="g++ is not installed")


def _rows(tflm_exported):
    folder, result, payload = tflm_exported
    assert result.exit_code == 0, result.output
    return {row["format"]: row for row in payload["rows"]}


def _one_line_exit_2(result, text):
    """Exit 2 with one error line, the last thing printed (progress lines before it go to stderr)."""
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and text in errors[0], result.output
    assert result.output.strip().splitlines()[-1] == errors[0] and result.stdout == ""


def test_export_writes_source_header_and_example_and_records_flash_and_arena(tflm_exported):
    folder = tflm_exported[0]
    row = _rows(tflm_exported)["tflm"]
    assert row["status"] == "written" and row["figures"]["passed"]
    for name in ("edge.tflm.cc", "edge.tflm.h", "edge.tflm.example.cc"):
        assert (folder / name).is_file()
    entry = json.loads((folder / "manifest.json").read_text())["files"]["edge.tflm.cc"]
    data = tflm.read_source(folder / "edge.tflm.cc")
    # Flash is the array; the row reports it too, not the size of the source text.
    assert entry["flash_bytes"] == len(data) == row["size_bytes"]
    assert entry["arena_bytes"] == row["figures"]["micro"]["arena_bytes"] > 1000
    assert entry["arena_margin_bytes"] == tflm.arena_margin(entry["arena_bytes"])
    header = (folder / "edge.tflm.h").read_text()
    assert f"constexpr unsigned int edge_arena_measured = {entry['arena_bytes']};" in header
    assert f"constexpr unsigned int edge_arena_margin = {entry['arena_margin_bytes']};" in header
    assert set(entry["companions"]) == {"edge.tflm.h", "edge.tflm.example.cc"}
    assert entry["parity"]["runtime"].startswith("tflite-micro ")
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")]


def test_the_array_parsed_back_is_the_int8_model(tflm_exported):
    folder = tflm_exported[0]
    # The same conversion, so the firmware carries exactly the file the tflite-int8 gate passed.
    assert tflm.read_source(folder / "edge.tflm.cc") == (folder / "edge.int8.tflite").read_bytes()


def test_header_states_the_input_and_output_quantization(tflm_exported):
    folder = tflm_exported[0]
    header = (folder / "edge.tflm.h").read_text()
    entry = json.loads((folder / "manifest.json").read_text())["files"]["edge.tflm.cc"]
    assert entry["input"]["quantization"]["zero_point"] == -128
    assert "constexpr int edge_input_zero_point = -128;" in header
    assert f"constexpr int edge_output_zero_point = {entry['output']['quantization']['zero_point']};" in header
    scale = float(header.split("constexpr float edge_input_scale = ")[1].split("f;")[0])
    assert scale == pytest.approx(entry["input"]["quantization"]["scale"], rel=1e-6)


def test_gate_ran_tflite_micro_against_litert_reference_kernels(tflm_exported):
    figures = _rows(tflm_exported)["tflm"]["figures"]
    micro = figures["micro"]
    assert micro["reference"].startswith("ai-edge-litert ") and micro["reference"].endswith("reference kernels")
    assert micro["reference_agreement"] == 100.0
    assert micro["reference_max_steps"] <= MICRO_MAX_STEPS
    assert sum(micro["reference_steps_histogram"]) == 10000 * 10
    assert -figures["delta_pp"] <= 0.1  # the tflm format's own limit, tighter than the default 0.3


def test_recorded_arena_is_the_smallest_that_runs(tflm_exported):
    folder = tflm_exported[0]
    data = tflm.read_source(folder / "edge.tflm.cc")
    arena = json.loads((folder / "manifest.json").read_text())["files"]["edge.tflm.cc"]["arena_bytes"]
    assert tflm.runs_in(data, arena) and not tflm.runs_in(data, arena - 1)


@needs_gxx
def test_generated_source_compiles_alone(tflm_exported, tmp_path):
    folder = tflm_exported[0]
    done = subprocess.run(
        [GXX, "-std=c++17", "-Wall", "-Wextra", "-Werror", "-c", str(folder / "edge.tflm.cc"), "-o", str(tmp_path / "edge.o")],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    symbols = subprocess.run(["nm", "-C", str(tmp_path / "edge.o")], capture_output=True, text=True).stdout
    assert "edge_model" in symbols and "edge_model_len" in symbols


@needs_gxx
def test_header_registers_exactly_the_operators_of_the_model(tflm_exported, tmp_path):
    """A stand-in resolver records the Add* calls: the header's snippet must name every op of the model, once."""
    folder = tflm_exported[0]
    ops = tflm.operators(tflm.read_source(folder / "edge.tflm.cc"))
    methods = [tflm.resolver_method(op) for op in ops]
    recorder = "\n".join(f'  int {m}() {{ std::puts("{m}"); return 0; }}' for m in methods)
    (tmp_path / "check.cc").write_text(
        f'#include <cstdio>\n#include "edge.tflm.h"\nstruct Resolver {{\n{recorder}\n}};\n'
        "int main() { Resolver r; std::printf(\"count %u\\n\", edge_op_count); return edge_register_ops(r) ? 0 : 1; }\n"
    )
    build = subprocess.run([GXX, "-std=c++17", "-Werror", "-I", str(folder), str(tmp_path / "check.cc"), "-o", str(tmp_path / "check")], capture_output=True, text=True, timeout=120)
    assert build.returncode == 0, build.stderr
    run = subprocess.run([str(tmp_path / "check")], capture_output=True, text=True, timeout=30)
    assert run.returncode == 0
    assert run.stdout.splitlines() == [f"count {len(ops)}", *methods]
    assert f"tflite::MicroMutableOpResolver<{len(ops)}> resolver;" in (folder / "edge.tflm.h").read_text()


def test_example_is_documented_as_needing_tflite_micro(tflm_exported):
    example = (tflm_exported[0] / "edge.tflm.example.cc").read_text()
    assert "NEEDS TensorFlow Lite Micro" in example.splitlines()[0]
    assert '#include "edge.tflm.h"' in example and "edge_register_ops(resolver)" in example and "Invoke()" in example


def test_resolver_method_names():
    assert tflm.resolver_method("CONV_2D") == "AddConv2D"
    assert tflm.resolver_method("DEPTHWISE_CONV_2D") == "AddDepthwiseConv2D"
    assert tflm.resolver_method("FULLY_CONNECTED") == "AddFullyConnected"
    assert tflm.resolver_method("MEAN") == "AddMean"
    assert tflm.resolver_method("STRIDED_SLICE") == "AddStridedSlice"


def test_verify_reruns_the_gate_on_the_source(invoke, tflm_exported):
    folder = tflm_exported[0]
    result = invoke("verify", folder / "edge.tflm.cc", "--json")
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["matches_manifest"] is True and figures["runtime"].startswith("tflite-micro")
    assert figures["micro"] == _rows(tflm_exported)["tflm"]["figures"]["micro"]


def test_an_edited_array_is_refused(invoke, tflm_exported, tmp_path):
    source = (tflm_exported[0] / "edge.tflm.cc").read_text()
    shutil.copy(tflm_exported[0] / "edge.keras", tmp_path / "edge.keras")
    (tmp_path / "edge.tflm.cc").write_text(source.replace("0x", "0x0", 1))  # one byte token made malformed
    _one_line_exit_2(invoke("verify", tmp_path / "edge.tflm.cc"), "holds something other than hex bytes")
    lines = source.splitlines()
    cut = [line for line in lines if not (line.startswith("  0x") and line == lines[10])]
    (tmp_path / "edge.tflm.cc").write_text("\n".join(cut))  # one row of bytes gone
    _one_line_exit_2(invoke("verify", tmp_path / "edge.tflm.cc"), "but its recorded length is")


def test_an_operator_tflite_micro_lacks_is_refused_and_nothing_is_written(invoke, tmp_path):
    keras = pytest.importorskip("keras")
    inputs = keras.Input((28, 28, 1))
    scores = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, keras.ops.top_k(scores, 10)[0])  # TOPK_V2: in LiteRT, not in TFLite Micro
    (tmp_path / "topk").mkdir()
    model.save(tmp_path / "topk" / "topk.keras")
    result = invoke("export", "--model", tmp_path / "topk" / "topk.keras", "--formats", "tflm")
    _one_line_exit_2(result, "needs operator TOPK_V2, which TensorFlow Lite Micro does not have")
    assert sorted(p.name for p in (tmp_path / "topk").iterdir()) == ["topk.keras"]


def test_an_arena_above_the_ceiling_is_refused_and_nothing_is_written(invoke, small_edge, tmp_path, monkeypatch):
    monkeypatch.setattr(tflm, "ARENA_CEILING", 2048)
    shutil.copy(small_edge, tmp_path / "edge.keras")
    result = invoke("export", "--model", tmp_path / "edge.keras", "--formats", "tflm")
    _one_line_exit_2(result, "found no tensor arena below 2 KB")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["edge.keras"]


def test_a_float_model_is_refused_for_tflite_micro(tiny_exports):
    from edge_mnist.errors import ModelError

    with pytest.raises(ModelError, match=r"cnn.float32.tflite: a float model .*export with --formats tflm"):
        tflm.measure(tiny_exports["tflite-float32"].read_bytes(), "cnn.float32.tflite")


def test_measured_arena_brackets_a_known_model(tiny_exports):
    data = tiny_exports["tflite-int8"].read_bytes()
    arena = tflm.measure(data).arena_bytes
    # At least the two largest activations of the tiny cnn (26x26x32 and 24x24x32 int8) live at once.
    assert 26 * 26 * 32 + 24 * 24 * 32 <= arena < 2 * (26 * 26 * 32 + 24 * 24 * 32)
    assert tflm.runs_in(data, arena) and not tflm.runs_in(data, arena - 16)
