"""`python -m edge_mnist`: the same command as `edge-mnist`."""
from edge_mnist.cli import main

main()
