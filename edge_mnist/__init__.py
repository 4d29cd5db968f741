"""edge-mnist: MNIST classifiers from Keras training to int8 inference on a Raspberry Pi.

Importing this package is cheap: TensorFlow, ONNX and OpenCV load only when a function needs them.
"""
__version__ = "0.1.0"
