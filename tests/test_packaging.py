"""The wheel installs export/ and firmware_bench/ under edge_mnist, ships MNIST, and squats no top-level name."""
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_regular_wheel_install_has_the_subpackages_and_the_data(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path / "dist"), str(ROOT)],
        check=True,
        timeout=600,
    )
    wheel = next((tmp_path / "dist").glob("edge_mnist-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "edge_mnist/assets/mnist.npz" in names
    assert "edge_mnist/export/formats.py" in names
    assert "edge_mnist/firmware_bench/__init__.py" in names
    assert not [n for n in names if n.startswith(("export/", "firmware_bench/", "tests/"))]

    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(target), str(wheel)], check=True, timeout=600)
    # Run from an unrelated folder so only the installed copy can be imported.
    done = subprocess.run(
        [sys.executable, "-c", "import edge_mnist.export.formats as f, edge_mnist.data as d; print(f.__file__); print(len(d.load_mnist().x_test))"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [str(target / "edge_mnist" / "export" / "formats.py"), "10000"]


def test_editable_install_maps_the_subpackages():
    import edge_mnist.export.formats
    import edge_mnist.firmware_bench

    assert Path(edge_mnist.export.formats.__file__) == ROOT / "export" / "formats.py"
    assert Path(edge_mnist.firmware_bench.__file__) == ROOT / "firmware_bench" / "__init__.py"
