"""Exporters and the parity gate, installed as `edge_mnist.export`."""
