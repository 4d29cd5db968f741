import gzip
import hashlib

import numpy as np
import pytest

from edge_mnist import data
from edge_mnist.data import BUNDLED, idx_bytes, idx_md5, load_mnist, load_test_set
from edge_mnist.errors import DataError


def test_bundled_mnist_is_the_real_one(mnist):
    assert mnist.x_train.shape == (60000, 28, 28) and mnist.x_test.shape == (10000, 28, 28)
    assert mnist.x_train.dtype == np.uint8 and mnist.y_test.dtype == np.uint8
    assert np.bincount(mnist.y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert hashlib.sha256(BUNDLED.read_bytes()).hexdigest() == data.BUNDLED_SHA256


def _write_idx(folder, mnist, gz):
    folder.mkdir()
    for key, name in data.IDX_NAMES.items():
        raw = idx_bytes(getattr(mnist, key))
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(raw, compresslevel=1))
        else:
            (folder / name).write_bytes(raw)
    return folder


@pytest.mark.parametrize("gz", [False, True])
def test_idx_folder_reads_identically_to_npz(mnist, tmp_path, gz):
    loaded = load_mnist(_write_idx(tmp_path / "idx", mnist, gz))
    for key in data.SHAPES:
        np.testing.assert_array_equal(getattr(loaded, key), getattr(mnist, key))


def test_environment_variable_is_used_before_bundled(mnist, tmp_path, monkeypatch):
    folder = _write_idx(tmp_path / "idx", mnist, gz=False)
    monkeypatch.setenv(data.ENV_VAR, str(folder))
    assert load_mnist().source == str(folder)
    # an explicit path wins over the environment
    assert load_mnist(BUNDLED).source == str(BUNDLED)


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_mnist(tmp_path / "nope.npz")


def test_bundled_file_with_wrong_checksum_is_refused(mnist, tmp_path, monkeypatch):
    fake = tmp_path / "mnist.npz"
    # valid npz, real arrays, different bytes: only the file checksum can tell
    np.savez(fake, x_train=mnist.x_train, y_train=mnist.y_train, x_test=mnist.x_test, y_test=mnist.y_test)
    monkeypatch.setattr(data, "BUNDLED", fake)
    with pytest.raises(DataError, match="sha256"):
        load_mnist()


def test_edited_pixels_fail_the_content_checksum(mnist, tmp_path):
    x_test = mnist.x_test.copy()
    x_test[0, 14, 14] ^= 0xFF
    path = tmp_path / "edited.npz"
    np.savez_compressed(path, x_train=mnist.x_train, y_train=mnist.y_train, x_test=x_test, y_test=mnist.y_test)
    with pytest.raises(DataError, match="x_test does not match the MNIST checksum"):
        load_mnist(path)


def test_truncated_npz_is_refused(tmp_path):
    path = tmp_path / "cut.npz"
    path.write_bytes(BUNDLED.read_bytes()[:100_000])
    with pytest.raises(DataError, match="corrupt or truncated"):
        load_mnist(path)


def test_wrong_shapes_are_refused(mnist, tmp_path):
    path = tmp_path / "small.npz"
    np.savez(path, x_train=mnist.x_train[:10], y_train=mnist.y_train[:10], x_test=mnist.x_test, y_test=mnist.y_test)
    with pytest.raises(DataError, match="x_train has shape"):
        load_mnist(path)


def test_missing_arrays_are_refused(mnist, tmp_path):
    path = tmp_path / "partial.npz"
    np.savez(path, x_train=mnist.x_train)
    with pytest.raises(DataError, match="missing arrays"):
        load_mnist(path)


def test_pickled_object_arrays_are_never_loaded(tmp_path):
    path = tmp_path / "pickle.npz"
    objects = np.array([{"a": 1}] * 3, dtype=object)
    np.savez(path, x_train=objects, y_train=objects, x_test=objects, y_test=objects)
    with pytest.raises(DataError, match="corrupt or truncated"):
        load_mnist(path)


def test_truncated_idx_is_refused(mnist, tmp_path):
    folder = _write_idx(tmp_path / "idx", mnist, gz=False)
    target = folder / data.IDX_NAMES["x_test"]
    target.write_bytes(target.read_bytes()[:-10])
    with pytest.raises(DataError, match="truncated IDX"):
        load_mnist(folder)


def test_idx_with_bad_magic_is_refused(mnist, tmp_path):
    folder = _write_idx(tmp_path / "idx", mnist, gz=False)
    (folder / data.IDX_NAMES["y_test"]).write_bytes(b"\x01\x02\x03\x04" + b"\x00" * 20)
    with pytest.raises(DataError, match="bad magic"):
        load_mnist(folder)


def test_idx_folder_missing_a_file_is_refused(mnist, tmp_path):
    folder = _write_idx(tmp_path / "idx", mnist, gz=True)
    next(folder.glob("t10k-labels*")).unlink()
    with pytest.raises(DataError, match="missing t10k-labels"):
        load_mnist(folder)


def test_idx_md5_hashes_the_idx_encoding_in_place(mnist):
    assert idx_md5(mnist.y_test) == hashlib.md5(idx_bytes(mnist.y_test)).hexdigest() == data.IDX_MD5["y_test"]


def test_test_set_alone_is_the_verified_test_split(mnist, tmp_path):
    x, y = load_test_set()
    assert np.array_equal(x, mnist.x_test) and np.array_equal(y, mnist.y_test)
    # From an IDX folder the training files are not even opened.
    folder = _write_idx(tmp_path / "idx", mnist, gz=False)
    for key in ("x_train", "y_train"):
        (folder / data.IDX_NAMES[key]).unlink()
    x, y = load_test_set(folder)
    assert np.array_equal(x, mnist.x_test) and np.array_equal(y, mnist.y_test)


def test_test_set_errors_name_the_problem(mnist, tmp_path):
    with pytest.raises(DataError, match="not found.*--data"):
        load_test_set(tmp_path / "none.npz")
    np.savez(tmp_path / "partial.npz", x_train=mnist.x_train[:10])
    with pytest.raises(DataError, match="missing arrays"):
        load_test_set(tmp_path / "partial.npz")
    edited = mnist.x_test.copy()
    edited[0, 0, 0] ^= 1
    np.savez(tmp_path / "edited.npz", x_test=edited, y_test=mnist.y_test)
    with pytest.raises(DataError, match="x_test does not match the MNIST checksum"):
        load_test_set(tmp_path / "edited.npz")
    np.savez(tmp_path / "short.npz", x_test=mnist.x_test[:100], y_test=mnist.y_test)
    with pytest.raises(DataError, match="x_test has shape"):
        load_test_set(tmp_path / "short.npz")
    (tmp_path / "corrupt.npz").write_bytes(b"PK\x03\x04broken")
    with pytest.raises(DataError, match="corrupt or truncated"):
        load_test_set(tmp_path / "corrupt.npz")
