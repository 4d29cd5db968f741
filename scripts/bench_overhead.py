"""The cost of edge-mnist's own predict path over the bare runtime call, single image (target <= 1.2x).

Per model: the median time of `Predictor.predict(one uint8 image)` (pixel lookup, quantize, invoke,
dequantize) against the median of a bare `interpreter.invoke()` (or `session.run`) on the same model
with its input already set, interleaved in blocks of 50 so machine noise hits both alike. Each model is
measured --repeats times, the models taking turns, so the figure is quoted as a range over repeats.

    python scripts/bench_overhead.py MODEL... [--runs 5000] [--repeats 3] [--threads 1] [--json docs/results/overhead.json]
"""
import argparse
import json
import sys
from pathlib import Path

from edge_mnist.data import load_test_set
from edge_mnist.files import write_atomic
from edge_mnist.firmware_bench.machine import stamp, stamp_line
from edge_mnist.firmware_bench.measure import overhead
from edge_mnist.runtime import Predictor
from edge_mnist.table import Column, render

TARGET = 1.2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--runs", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    x, _ = load_test_set()
    predictors = [Predictor(model, threads=args.threads, scaling=None) for model in args.models]
    for predictor in predictors:
        for _ in range(200):  # warm caches and the runtime's first-call work
            predictor.predict(x[:1])
    repeats = [[overhead(p, x, args.runs) for p in predictors] for _ in range(args.repeats)]
    rows = [
        {
            "model": model.name,
            "runtime": f"{p.runtime.value} {p.runtime_version}",
            "product_us": [r[i].product_us for r in repeats],
            "bare_us": [r[i].bare_us for r in repeats],
            "ratio": [r[i].ratio for r in repeats],
        }
        for i, (model, p) in enumerate(zip(args.models, predictors))
    ]
    record = {"kind": "overhead", "target": TARGET, "runs": args.runs, "repeats": args.repeats, "threads": args.threads, "results": rows, **stamp()}
    print(table(record))
    if args.json:
        write_atomic(args.json, (json.dumps(record, indent=2) + "\n").encode())
    return 0 if all(max(r["ratio"]) <= TARGET for r in rows) else 1


def table(record: dict, markdown: bool = False) -> str:
    caption = f"{record['repeats']} repeats of {record['runs']} single-image runs each, {record['threads']} thread(s); {stamp_line(record)}"
    return "\n".join([render(COLUMNS, record["results"], markdown), "", caption])


def _range(values, fmt):
    low, high = min(values), max(values)
    return format(low, fmt) if format(low, fmt) == format(high, fmt) else f"{low:{fmt}}-{high:{fmt}}"


COLUMNS = (
    Column.of("model"),
    Column.of("runtime"),
    Column("predict us", lambda r: _range(r["product_us"], ".1f"), right=True),
    Column("bare us", lambda r: _range(r["bare_us"], ".1f"), right=True),
    Column("ratio", lambda r: _range(r["ratio"], ".2f") + "x", right=True),
    Column(f"<= {TARGET}x", lambda r: "yes" if max(r["ratio"]) <= TARGET else "no"),
)

if __name__ == "__main__":
    sys.exit(main())
