import json

import pytest
from click.testing import CliRunner

from edge_mnist.cli import cli


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_help_lists_the_commands_without_importing_tensorflow(run_isolated):
    out = run_isolated(
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from edge_mnist.cli import cli\n"
        "r = CliRunner().invoke(cli, ['--help'])\n"
        "assert r.exit_code == 0, r.output\n"
        "print(r.output)\n"
        "print('TF-IMPORTED' if any(m == 'tensorflow' or m.startswith(('tensorflow.', 'keras')) for m in sys.modules) else 'TF-CLEAN')\n"
    )
    assert "TF-CLEAN" in out
    for command in ("train", "pipeline"):
        assert command in out


def test_importing_the_package_is_cheap(run_isolated):
    out = run_isolated("import sys, edge_mnist, edge_mnist.data, edge_mnist.runtime, edge_mnist.export.formats; print(sorted(m for m in ('tensorflow','keras','onnx','cv2','matplotlib') if m in sys.modules))")
    assert out.strip() == "[]"


@pytest.mark.parametrize("command", ["train", "pipeline"])
def test_every_subcommand_has_help(command):
    result = invoke(command, "--help")
    assert result.exit_code == 0 and "Usage:" in result.output


def test_unknown_preset_is_one_line_and_exit_2():
    result = invoke("train", "--model", "resnet")
    assert result.exit_code == 2
    assert "unknown model preset 'resnet'" in result.output
    assert "Traceback" not in result.output


def test_bad_data_is_one_line_and_exit_2(tmp_path):
    result = invoke("train", "--data", tmp_path / "missing.npz")
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and "not found" in result.output


def test_bad_epochs_is_exit_2():
    assert invoke("train", "--epochs", "0").exit_code == 2


def test_train_command_writes_the_model(tmp_path, mnist):
    # softmax for one epoch on the full data is a few seconds: a real run through the CLI
    result = invoke("train", "--model", "softmax", "--epochs", "1", "--out", tmp_path, "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["test_accuracy"] > 0.85
    assert (tmp_path / "softmax" / "softmax.keras").is_file()


def test_python_dash_m_runs_the_same_command():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "edge_mnist", "--version"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == f"edge-mnist, version {__import__('edge_mnist').__version__}"


def test_a_subcommand_whose_import_fails_says_why(run_isolated):
    # numpy missing: every command that needs it must still be listed, and say what to install.
    out = run_isolated(
        "import sys\n"
        "sys.modules['numpy'] = None\n"
        "from click.testing import CliRunner\n"
        "from edge_mnist.cli import cli\n"
        "r = CliRunner().invoke(cli, ['--help'])\n"
        "print(r.exit_code); print(r.output)\n"
        "r = CliRunner().invoke(cli, ['bench', 'artifacts'])\n"
        "print(r.exit_code); print(r.output)\n"
    )
    help_code, *rest = out.splitlines()
    assert help_code == "0"
    listing = "\n".join(rest)
    bench_line = next(line for line in listing.splitlines() if line.strip().startswith("bench"))
    assert "unavailable" in bench_line
    assert "2\nError: bench is unavailable:" in out and "numpy" in out.split("Error: bench is unavailable:")[1]
    assert "fix: pip install numpy" in out


def test_unknown_precision_from_the_environment_is_one_line(monkeypatch):
    monkeypatch.setenv("EDGE_MNIST_PRECISION", "bfloat8")
    result = invoke("train", "--model", "softmax", "--epochs", "1")
    assert result.exit_code == 2 and "unknown precision 'bfloat8'" in result.output and "Traceback" not in result.output


def _edge_mnist(*args, env=None, timeout=600):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "EDGE_MNIST_VERBOSE")} | (env or {})
    return subprocess.run([sys.executable, "-m", "edge_mnist", *map(str, args)], capture_output=True, text=True, env=env, timeout=timeout)


NATIVE_LOG = ("XNNPACK", "absl::InitializeLog", "I0000", "W0000", "E0000", "cuda", "oneDNN", "fully_quantize")


def test_output_is_quiet_by_default_and_verbose_shows_the_native_logs(tiny_exports, tmp_path):
    model = tiny_exports["tflite-int8"]
    quick = ["--in-process", "--threads", "1", "--runs", "10", "--limit", "100", "--json", tmp_path / "b.json"]
    quiet = _edge_mnist("bench", model, *quick)
    assert quiet.returncode == 0, quiet.stderr
    assert not [line for line in quiet.stderr.splitlines() if any(word in line for word in NATIVE_LOG)], quiet.stderr
    loud = _edge_mnist("--verbose", "bench", model, *quick)
    assert loud.returncode == 0 and "XNNPACK" in loud.stderr


def test_export_hides_tensorflow_and_converter_logs(tiny_models, tmp_path):
    import shutil

    model = tmp_path / "cnn.keras"
    shutil.copy(tiny_models["cnn"], model)
    done = _edge_mnist("export", "--model", model, "--formats", "tflite-int8,onnx")
    assert done.returncode == 0, done.stderr
    assert not [line for line in done.stderr.splitlines() if any(word in line for word in NATIVE_LOG)], done.stderr
    assert [line for line in done.stderr.splitlines()] == ["tflite-int8: exporting", "tflite-int8: passed", "onnx: exporting", "onnx: passed"]
