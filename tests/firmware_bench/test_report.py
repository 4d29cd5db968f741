"""firmware_bench.report: the printed table, atomic JSON, the side-by-side comparison and its chart."""
import os
from dataclasses import replace

import pytest

from edge_mnist.files import write_atomic
from edge_mnist.firmware_bench.report import format_compare, format_report, write_compare_chart


def test_table_has_one_row_per_measurement_and_the_machine(bench_report):
    text = format_report(bench_report)
    lines = text.splitlines()
    assert lines[0].startswith(bench_report.machine["device"]) and "ai-edge-litert" in lines[0]
    rows = [line for line in lines if line.startswith("cnn.")]
    assert len(rows) == 2 * 2  # a table row and a detection note per model
    r = bench_report.results[0]
    assert f"{r.accuracy:.2%}" in text and f"{r.latency_us.p50:.1f}" in text and f"{r.cold_start_ms.total:.1f}" in text


def test_emulated_reports_say_so(bench_report):
    emulated = replace(bench_report, machine={**bench_report.machine, "emulated": "qemu-aarch64 -cpu cortex-a72"})
    assert "EMULATED run" in format_report(emulated)
    assert "EMULATED" not in format_report(bench_report)


def test_write_atomic_leaves_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "bench.json"
    path.write_text("old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        write_atomic(path, b"new")
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["bench.json"]


def test_compare_marks_rows_a_device_lacks(bench_report, tmp_path):
    one_model = replace(bench_report, machine={**bench_report.machine, "device": "pi"}, results=bench_report.results[:1])
    text = format_compare([bench_report, one_model])
    missing = [line for line in text.splitlines() if line.startswith("cnn.float32.onnx")]
    assert len(missing) == 1 and missing[0].rstrip().endswith("-")
    chart = tmp_path / "c.png"
    write_compare_chart([bench_report, one_model], chart)
    assert chart.stat().st_size > 1000


def test_a_hot_throttled_board_is_flagged_in_the_table_and_the_comparison(bench_report):
    board = {**bench_report.machine, "ssh_host": "pi4", "temperature_c": 84.0, "governor": "ondemand",
             "throttled": {"raw": "0x20002", "flags": ["frequency capped now", "frequency capped since boot"]}}
    hot = replace(bench_report, machine=board)
    line = format_report(hot).splitlines()[0]
    assert "governor ondemand" in line and "84 C" in line and "WARNING hot: 84 C" in line and "WARNING throttled: frequency capped now" in line
    text = format_compare([bench_report, hot])
    assert "pi4 acc" in text  # a board benched over SSH goes by its host name
    assert "WARNING pi4: hot: 84 C, throttled: frequency capped now; its timings may be low" in text
    assert "WARNING" not in format_compare([bench_report, bench_report])
