"""Child process for one measurement: `python -m edge_mnist.firmware_bench.worker ARGS` prints one JSON object.

A fresh process per (model, runtime, threads) keeps the memory figures clean and turns a runtime
that crashes on a bad model into an error message instead of taking the whole bench down.
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
    parser.add_argument("--runtime", default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--scaling", default=None)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--data", default=None)
    parser.add_argument("--outputs", type=Path, default=None)
    return parser.parse_args(argv)


def args_for(model: Path, settings, data, outputs: Path | None) -> list[str]:
    """The worker's command-line arguments for one measurement (the inverse of `parse`)."""
    options = {
        "runs": settings.runs,
        "batch": settings.batch,
        "warmup": settings.warmup,
        "runtime": settings.runtime and settings.runtime.value,
        "scaling": settings.scaling and settings.scaling.value,
        "threads": settings.threads,
        "limit": settings.limit,
        "data": data,
        "outputs": outputs,
    }
    # --flag=value, never "--flag value": a value such as the scaling "-1-1" would read as a flag.
    return [str(model)] + [f"--{flag}={value}" for flag, value in options.items() if value is not None]


def main(argv: list[str] | None = None) -> int:
    from edge_mnist.firmware_bench.measure import Settings, bench_model, load_test_set
    from edge_mnist.runtime import Runtime, Scaling

    args = parse(sys.argv[1:] if argv is None else argv)
    try:
        settings = Settings(
            runtime=Runtime(args.runtime) if args.runtime else None,
            threads=args.threads,
            scaling=Scaling(args.scaling) if args.scaling else None,
            runs=args.runs,
            warmup=args.warmup,
            batch=args.batch,
            limit=args.limit,
        )
        x, y = load_test_set(args.data)
        result = bench_model(args.model, x, y, settings, outputs=args.outputs)
    except EdgeMnistError as exc:
        print(json.dumps({"error": str(exc).splitlines()[0], "kind": exc.__class__.__name__}))
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
