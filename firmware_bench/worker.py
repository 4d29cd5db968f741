"""Child process for one measurement: `python -m edge_mnist.firmware_bench.worker ARGS` prints one JSON object.

A fresh process per (model, runtime, threads) keeps the memory figures clean, makes the cold start
a real one, and turns a runtime that crashes on a bad model into an error message instead of
taking the whole bench down.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from edge_mnist.errors import EdgeMnistError


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="edge_mnist.firmware_bench.worker")
    parser.add_argument("model", type=Path)
    parser.add_argument("--settings", default="{}", help="Settings.to_json() as JSON")
    parser.add_argument("--data", default=None)
    parser.add_argument("--outputs", type=Path, default=None)
    return parser.parse_args(argv)


def args_for(model: Path, settings, data, outputs: Path | None) -> list[str]:
    """The worker's command-line arguments for one measurement (the inverse of `parse`)."""
    # --flag=value, never "--flag value": a value starting with "-" would read as a flag.
    options = {"settings": json.dumps(settings.to_json()), "data": data, "outputs": outputs}
    return [str(model)] + [f"--{flag}={value}" for flag, value in options.items() if value is not None]


def main(argv: list[str] | None = None) -> int:
    from edge_mnist.data import load_test_set
    from edge_mnist.firmware_bench.measure import Settings, bench_model

    args = parse(sys.argv[1:] if argv is None else argv)
    try:
        settings = Settings.from_json(json.loads(args.settings))
        x, y = load_test_set(args.data)
        result = bench_model(args.model, x, y, settings, outputs=args.outputs)
    except EdgeMnistError as exc:
        # The class name travels with the message, so the parent raises the same kind of error.
        print(json.dumps({"error": str(exc).splitlines()[0], "kind": exc.__class__.__name__}))
        return 2
    print(json.dumps(result.to_json()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
