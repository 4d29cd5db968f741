"""The tiny cnn exported to every format once per session, through the CLI as a user would run it."""
import json
import shutil

import pytest
from click.testing import CliRunner

from edge_mnist.cli import cli
from edge_mnist.models import Preset
from edge_mnist.pipeline import formats_for

CNN_FORMATS = {f.name: f for f in formats_for(Preset.CNN)}


def _invoke(*args):
    # catch_exceptions=False: a traceback anywhere fails the test instead of hiding in result.exception.
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="session")
def invoke():
    """Run `edge-mnist ARGS...` in-process and return the click Result."""
    return _invoke


@pytest.fixture(scope="session")
def exported(tiny_models, tmp_path_factory):
    """`edge-mnist export --model cnn --formats ... --json` on the tiny cnn, in every format the pipeline
    gives the cnn (all but tflm, tested on the edge preset): (model folder, CLI result, JSON payload).

    Tests that change files must copy the folder first (see `artifacts_copy`).
    """
    artifacts = tmp_path_factory.mktemp("exported")
    (artifacts / "cnn").mkdir()
    shutil.copy(tiny_models["cnn"], artifacts / "cnn" / "cnn.keras")
    result = _invoke("export", "--model", "cnn", "--artifacts", artifacts, "--formats", ",".join(CNN_FORMATS), "--json")
    payload = json.loads(result.stdout) if result.exit_code == 0 else None
    return artifacts / "cnn", result, payload


@pytest.fixture
def artifacts_copy(exported, tmp_path):
    """A private copy of the exported artifacts folder: tmp_path/cnn/..."""
    shutil.copytree(exported[0], tmp_path / "cnn")
    return tmp_path / "cnn"


@pytest.fixture(scope="session")
def tflm_exported(small_edge, tmp_path_factory):
    """`edge-mnist export --model edge --formats tflm,tflite-int8 --json` on `small_edge`: (folder, result, payload)."""
    artifacts = tmp_path_factory.mktemp("tflm_exported")
    (artifacts / "edge").mkdir()
    shutil.copy(small_edge, artifacts / "edge" / "edge.keras")
    result = _invoke("export", "--model", "edge", "--artifacts", artifacts, "--formats", "tflm,tflite-int8", "--json")
    payload = json.loads(result.stdout) if result.exit_code == 0 else None
    return artifacts / "edge", result, payload
