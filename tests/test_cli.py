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
