"""Files written whole or not at all, and their digests: one helper for training, export, bench and camera."""
from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path
from typing import Callable


def sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def atomic_write(path, write: Callable[[Path], object]) -> None:
    """`write(tmp)` into a hidden sibling, then rename it over `path`.

    Readers never see half a file and a failure leaves the previous one as it was. The temporary name
    keeps the suffix, for writers that choose a format by it (Keras `.keras`, matplotlib).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{secrets.token_hex(4)}.tmp{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(path, data: bytes) -> None:
    atomic_write(path, lambda tmp: tmp.write_bytes(data))
