"""The cost of edge-mnist's own predict path over the bare runtime call, single image (target <= 1.2x).

Per model: the median time of `Predictor.predict(one uint8 image)` (pixel lookup, quantize, invoke,
dequantize) against the median of a bare `interpreter.invoke()` (or `session.run`) on the same model
with its input already set, interleaved in blocks of 50 so machine noise hits both alike.
Usage: python scripts/bench_overhead.py MODEL... [--runs 5000] [--threads 1] [--json out.json]
"""
import argparse
import json
import sys

from dataclasses import asdict

from edge_mnist.data import load_test_set
from edge_mnist.firmware_bench.measure import overhead
from edge_mnist.runtime import Predictor

TARGET = 1.2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+")
    parser.add_argument("--runs", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    x, _ = load_test_set()  # only the test arrays: no need to read and verify the training split
    rows = []
    for model in args.models:
        predictor = Predictor(model, threads=args.threads, scaling=None)
        for _ in range(200):  # warm caches and the runtime's first-call work
            predictor.predict(x[:1])
        rows.append({"model": model, "runtime": f"{predictor.runtime.value} {predictor.runtime_version}", **asdict(overhead(predictor, x, args.runs))})
    print(f"{'model':<40} {'runtime':<22} {'predict us':>10} {'bare us':>8} {'ratio':>6}  target <= {TARGET}x")
    for r in rows:
        print(f"{r['model']:<40} {r['runtime']:<22} {r['product_us']:>10.2f} {r['bare_us']:>8.2f} {r['ratio']:>5.2f}x  {'ok' if r['ratio'] <= TARGET else 'OVER'}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
    return 0 if all(r["ratio"] <= TARGET for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
