"""MNIST, shipped with the package and checked on every load.

Resolution order: an explicit path, then $EDGE_MNIST_DATA, then the bundled file.
A path may be a Keras-layout `mnist.npz` or a folder with the four original IDX files (gzipped or not).
Whatever the container, the arrays must be the real MNIST: their IDX bytes are hashed against the
well-known checksums, so a truncated, edited or foreign dataset is refused rather than trained on.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge_mnist.errors import DataError
from edge_mnist.files import sha256

BUNDLED = Path(__file__).parent / "assets" / "mnist.npz"
BUNDLED_SHA256 = "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64"
ENV_VAR = "EDGE_MNIST_DATA"

# MD5 of the uncompressed IDX files; images are the published values, labels were computed from
# the verified shared copy (the published label MD5s are of the .gz files, which are not reproducible).
IDX_MD5 = {
    "x_train": "6bbc9ace898e44ae57da46a324031adb",
    "y_train": "a25bea736e30d166cdddb491f175f624",
    "x_test": "2646ac647ad5339dbf082846283269ea",
    "y_test": "27ae3e4e09519cfbb04c329615203637",
}
SHAPES = {"x_train": (60000, 28, 28), "y_train": (60000,), "x_test": (10000, 28, 28), "y_test": (10000,)}
IDX_NAMES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


@dataclass(frozen=True)
class Mnist:
    x_train: np.ndarray  # (60000, 28, 28) uint8, white digit on black
    y_train: np.ndarray  # (60000,) uint8
    x_test: np.ndarray  # (10000, 28, 28) uint8
    y_test: np.ndarray  # (10000,) uint8
    source: str


def resolve_path(path: str | os.PathLike | None = None) -> Path:
    if path is not None:
        return Path(path)
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    return BUNDLED


def load_mnist(path: str | os.PathLike | None = None) -> Mnist:
    """Load and verify MNIST; raises DataError with a one-line reason on anything wrong."""
    source, arrays = _load(path, SHAPES)
    return Mnist(**arrays, source=str(source))


def load_test_set(path: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Only the verified test split (x_test, y_test), for the device side: the training arrays are never read."""
    _, arrays = _load(path, ("x_test", "y_test"))
    return arrays["x_test"], arrays["y_test"]


def _load(path, keys) -> tuple[Path, dict[str, np.ndarray]]:
    source = resolve_path(path)
    if not source.exists():
        raise DataError(f"MNIST data not found at {source}; fix: pass --data PATH to an mnist.npz or a folder of IDX files (or set ${ENV_VAR})")
    if source.resolve() == BUNDLED.resolve():
        digest = sha256(source)
        if digest != BUNDLED_SHA256:
            raise DataError(f"bundled MNIST at {source} has sha256 {digest[:12]}..., expected {BUNDLED_SHA256[:12]}...; reinstall edge-mnist")
    arrays = _read_idx_folder(source, keys) if source.is_dir() else _read_npz(source, keys)
    return source, _verified(source, arrays)


def _verified(source: Path, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The arrays, if each has MNIST's shape, dtype and IDX checksum."""
    for key, array in arrays.items():
        if array.shape != SHAPES[key] or array.dtype != np.uint8:
            raise DataError(f"{source}: {key} has shape {array.shape} and dtype {array.dtype}, expected {SHAPES[key]} uint8")
        digest = idx_md5(array)
        if digest != IDX_MD5[key]:
            raise DataError(f"{source}: {key} does not match the MNIST checksum (md5 {digest[:12]}..., expected {IDX_MD5[key][:12]}...)")
    return arrays


def idx_header(array: np.ndarray) -> bytes:
    """The original IDX header of a uint8 array: magic 0x0803 (images) or 0x0801 (labels), then the shape."""
    return bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)


def idx_bytes(array: np.ndarray) -> bytes:
    """The original IDX encoding of a uint8 array."""
    return idx_header(array) + np.ascontiguousarray(array).tobytes()


def idx_md5(array: np.ndarray) -> str:
    """md5 of idx_bytes(array), hashed in place: building those bytes would copy the array twice."""
    digest = hashlib.md5(idx_header(array))
    digest.update(np.ascontiguousarray(array))
    return digest.hexdigest()


def _read_npz(path: Path, keys) -> dict[str, np.ndarray]:
    """The named arrays only: an npz member is read when asked for."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = set(keys) - set(npz.files)
            if missing:
                raise DataError(f"{path}: not an MNIST npz, missing arrays {sorted(missing)}")
            return {key: npz[key] for key in keys}
    except DataError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise DataError(f"{path}: corrupt or truncated npz ({exc.__class__.__name__}: {exc})") from None


def _read_idx_folder(folder: Path, keys) -> dict[str, np.ndarray]:
    arrays = {}
    for key in keys:
        name = IDX_NAMES[key]
        candidates = [folder / name, folder / f"{name}.gz", folder / name.replace("-idx", ".idx")]
        found = next((c for c in candidates if c.exists()), None)
        if found is None:
            raise DataError(f"{folder}: missing {name} (or {name}.gz)")
        arrays[key] = _read_idx(found)
    return arrays


def _read_idx(path: Path) -> np.ndarray:
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(f"{path}: corrupt IDX file ({exc})") from None
    if len(raw) < 4 or raw[:3] != b"\x00\x00\x08":
        raise DataError(f"{path}: not a uint8 IDX file (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if len(raw) != header + int(np.prod(shape)):
        raise DataError(f"{path}: truncated IDX file ({len(raw) - header} bytes of data for shape {shape})")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def normalize(images: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) -> float32 (N, 28, 28, 1) in [0, 1]: the input every model here takes."""
    return (images.astype(np.float32) / 255.0)[..., None]


INPUT_NORMALIZATION = "pixel / 255 (white digit on black, float32 in [0, 1], shape N x 28 x 28 x 1)"
