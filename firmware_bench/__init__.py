"""Benchmarks, the device side, installed as `edge_mnist.firmware_bench`: numpy and a TFLite runtime only."""
