"""Lazy imports of optional dependencies, with the exact install command when one is missing."""
import contextlib
import importlib
import sys

from edge_mnist import logs
from edge_mnist.errors import MissingDependencyError

# module -> (pip package, extra that brings it)
_KNOWN = {
    "tensorflow": ("tensorflow", "train"),
    "keras": ("keras", "train"),
    "tf2onnx": ("tf2onnx", "train"),
    "onnx": ("onnx", "train"),
    "matplotlib": ("matplotlib", "train"),
    "onnxruntime": ("onnxruntime", "pi"),
    "ai_edge_litert": ("ai-edge-litert", "pi"),
    "tflite_micro": ("tflite-micro", "train"),
    "cv2": ("opencv-python-headless", "pi"),
    "picamera2": ("picamera2", None),
}


# These load TensorFlow, whose C++ logging must be quietened before it loads.
_TENSORFLOW = {"tensorflow", "keras", "tf2onnx"}


def require(module: str):
    """Import `module` or raise MissingDependencyError saying what to install."""
    root = module.split(".")[0]
    loaded = sys.modules.get(module)
    if loaded is not None and root not in _TENSORFLOW:
        return loaded  # the hot path: camera code asks for cv2 thousands of times a second
    if root in _TENSORFLOW:
        logs.before_tensorflow_import()
    try:
        # TensorFlow's loader writes its start-up lines to stderr before any log level applies.
        with logs.native_quiet() if root in _TENSORFLOW else contextlib.nullcontext():
            imported = importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(f"{module} is not installed ({exc}); fix: {fix_for(module)}") from None
    if root in _TENSORFLOW and "tensorflow" in sys.modules:
        logs.after_tensorflow_import(sys.modules["tensorflow"])
    return imported


def fix_for(module: str) -> str:
    """The command that installs `module` (a dotted name is fine)."""
    root = module.split(".")[0]
    if root == "edge_mnist":
        return "reinstall edge-mnist: pip install --force-reinstall edge-mnist"
    package, extra = _KNOWN.get(root, (root, None))
    if extra:
        return f"pip install 'edge-mnist[{extra}]'"
    if module == "picamera2":
        return "sudo apt install python3-picamera2 (and create the venv with --system-site-packages)"
    return f"pip install {package}"
