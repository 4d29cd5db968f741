"""Wall time of the tutorial CNN recipe against edge-mnist's default one, one after the other in one process.

The tutorial baseline, exactly: the `cnn` preset's layers (Conv2D 32 3x3 ReLU, Conv2D 32 3x3 ReLU,
MaxPooling 2x2, Dropout 0.25, Flatten, Dense 128 ReLU, Dropout 0.5, Dense 10 softmax; the layers of
Keras 2's examples/mnist_cnn.py with the second convolution at 32 filters instead of 64), compiled with
Keras' default Adam (learning rate 1e-3) and sparse categorical cross-entropy instead of that example's
Adadelta, and fit as the tutorials do: `model.fit(x, y, batch_size=128, epochs=12, validation_split=0.1)`
on float32 numpy arrays of the 60,000 training images scaled to [0, 1], in float32. It runs first, as
written (no op determinism). Then the default recipe, exactly as `edge-mnist train --model cnn` runs it,
on the chosen precision path: "auto" (mixed bfloat16 where the CPU computes bf16 natively) or "float32"
(as on a CPU without bf16). Both are scored on the 10,000 test images.

    python scripts/bench_training.py [--precision auto|float32] [--seed 0] [--json docs/results/training-ratio.json]

With --json the run is added to the file's list of runs, so repeated runs are quoted as a range. This is
a timing measurement: run it on a quiet machine where you can; on a shared one, niced like the other
jobs, and read the load average recorded before and after with each run (contention slows the default's
bf16 path more than the tutorial's, so a loaded run overstates the ratio).
"""
import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from edge_mnist.data import load_mnist, normalize
from edge_mnist.files import write_atomic
from edge_mnist.firmware_bench.machine import stamp, stamp_line
from edge_mnist.models import TUTORIAL, Preset, build_model
from edge_mnist.table import Column, render
from edge_mnist.training import train

TARGET = 1 / 3


def tutorial_run(mnist, seed):
    from edge_mnist._deps import require

    keras = require("keras")
    keras.utils.set_random_seed(seed)
    recipe = TUTORIAL[Preset.CNN]
    model = build_model(Preset.CNN)
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(normalize(mnist.x_train), mnist.y_train, batch_size=recipe.batch_size, epochs=recipe.epochs, validation_split=0.1, verbose=0)
    seconds = time.perf_counter() - start
    _, accuracy = model.evaluate(normalize(mnist.x_test), mnist.y_test, verbose=0)
    return {"seconds": seconds, "test_accuracy": float(accuracy), "precision": "float32"}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--precision", choices=["auto", "float32"], default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    mnist = load_mnist()
    load_before = list(os.getloadavg())
    tutorial = tutorial_run(mnist, args.seed)
    with tempfile.TemporaryDirectory() as out:
        fast = train(Preset.CNN, mnist, out, seed=args.seed, progress=False, precision=args.precision)
    run = {
        "switch": args.precision,
        "seed": args.seed,
        "tutorial": tutorial,
        "default": {"seconds": fast.seconds, "test_accuracy": fast.test_accuracy, "precision": fast.precision, "recipe": fast.recipe},
        "ratio": fast.seconds / tutorial["seconds"],
        "load_before": load_before,
        **stamp(),
    }
    record = json.loads(args.json.read_text()) if args.json and args.json.exists() else {"kind": "training-ratio", "target": TARGET, "runs": []}
    record["runs"].append(run)
    if args.json:
        write_atomic(args.json, (json.dumps(record, indent=2) + "\n").encode())
    print(table({**record, "runs": [run]}))


COLUMNS = (
    Column("date (UTC)", lambda r: f"{r['date'][:10]} {r['date'][11:16]}"),
    Column("path", lambda r: f"{r['switch']} ({r['default']['precision']})"),
    Column("load before, after", lambda r: f"{r['load_before'][0]:.2f}, {r['load'][0]:.2f}", right=True),
    Column("tutorial", lambda r: f"{r['tutorial']['seconds']:.1f} s, {r['tutorial']['test_accuracy']:.2%}", right=True),
    Column("default", lambda r: f"{r['default']['seconds']:.1f} s, {r['default']['test_accuracy']:.2%}", right=True),
    Column("ratio", lambda r: f"{r['ratio']:.3f}", right=True),
)


def table(record: dict, markdown: bool = False) -> str:
    """Every run, then the ratio's range over runs per precision path against the target."""
    runs = record["runs"]
    lines = [render(COLUMNS, runs, markdown), ""]
    for switch in dict.fromkeys(r["switch"] for r in runs):
        ratios = [r["ratio"] for r in runs if r["switch"] == switch]
        verdict = "met" if max(ratios) <= record["target"] else ("met in some runs" if min(ratios) <= record["target"] else "not met")
        lines.append(f"- {switch}: ratio {min(ratios):.3f}-{max(ratios):.3f} over {len(ratios)} run(s), target <= {record['target']:.3f}: {verdict}")
    cpus = sorted({stamp_line(r, time=False, load=False) for r in runs})
    lines.append(f"- measured on {'; '.join(cpus)}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
