"""Lazy imports of optional dependencies, with the exact install command when one is missing."""
import importlib

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


def require(module: str):
    """Import `module` or raise MissingDependencyError saying what to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        package, extra = _KNOWN.get(module.split(".")[0], (module, None))
        if extra:
            fix = f"pip install 'edge-mnist[{extra}]'"
        elif module == "picamera2":
            fix = "sudo apt install python3-picamera2 (and create the venv with --system-site-packages)"
        else:
            fix = f"pip install {package}"
        raise MissingDependencyError(f"{module} is not installed ({exc}); fix: {fix}") from None
