"""Quiet by default: the log lines of TensorFlow, LiteRT's XNNPACK delegate and the converters are hidden
unless verbose (`edge-mnist --verbose`, or EDGE_MNIST_VERBOSE=1, which child processes inherit).

Those lines come from native code writing straight to file descriptor 2 or from C++ logging set up
at import time, so they are silenced where they arise: an environment variable before TensorFlow is
imported, and a redirect of descriptor 2 around interpreter creation and conversion. Errors still
reach the user as exceptions, which carry what went wrong.
"""
from __future__ import annotations

import contextlib
import os
import sys
import warnings

VERBOSE_ENV = "EDGE_MNIST_VERBOSE"
# Python warnings raised from inside these libraries are their business, not the user's.
NOISY_MODULES = r"(keras|tensorflow|tf2onnx|onnx|onnxruntime|absl|google|ml_dtypes)(\.|$)"


def verbose() -> bool:
    return os.environ.get(VERBOSE_ENV, "") not in ("", "0")


def set_verbose(on: bool) -> None:
    os.environ[VERBOSE_ENV] = "1" if on else "0"
    if not on:
        warnings.filterwarnings("ignore", module=NOISY_MODULES)


def before_tensorflow_import() -> None:
    """TensorFlow's C++ logging reads its level once, when TensorFlow loads: set it first (a user's own setting wins)."""
    if not verbose():
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def after_tensorflow_import(tf) -> None:
    if not verbose():
        tf.get_logger().setLevel("ERROR")
        with contextlib.suppress(ImportError):
            from absl import logging as absl_logging

            absl_logging.set_verbosity(absl_logging.ERROR)


@contextlib.contextmanager
def native_quiet():
    """Discard what native code writes to this process's stderr inside the block, unless verbose."""
    if verbose():
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null, warnings.catch_warnings():
            warnings.filterwarnings("ignore", module=NOISY_MODULES)
            os.dup2(null.fileno(), 2)
            try:
                yield
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
    finally:
        os.close(saved)
