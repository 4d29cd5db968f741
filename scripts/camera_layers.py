"""What a small CNN layout costs the camera reader: int8 time per image, batch of 8, one thread.

The reader classifies about 30 crops a frame in batches of 8 (edge_mnist.camera.recognize.CHUNK),
so this is the figure that adds up. Each layout (a `small_cnn` spec, as CAMERA_LAYERS holds) is built
with its initial weights and exported to full int8 like any preset (500 calibration images): an int8
kernel's time does not depend on the weights' values, so no training is needed to time a layout (its
accuracy needs training: `edge-mnist train --model cnn-camera`). The layouts take turns, --repeats
times, each timed as the median of --runs invocations, so machine noise hits all alike; quote ranges.

    python scripts/camera_layers.py c24-p-c48-p-c96-f-o3 c32/2-c64-p-c128-f-o3 [--json docs/results/camera-layers.json]
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from edge_mnist.camera.recognize import CHUNK
from edge_mnist.data import load_mnist
from edge_mnist.export.calibration import representative_images
from edge_mnist.export.tflite import export_int8
from edge_mnist.files import write_atomic
from edge_mnist.firmware_bench.machine import stamp, stamp_line
from edge_mnist.report_card import report_card
from edge_mnist.runtime import Predictor
from edge_mnist.table import Column, render


def build(spec: str):
    """The cnn-camera preset with these layers, built as `edge-mnist train` builds it."""
    import keras

    from edge_mnist import models

    keras.utils.set_random_seed(0)
    models.CAMERA_LAYERS = spec
    return models.build_model(models.Preset.CNN_CAMERA)


def time_per_image(predictor: Predictor, batch: np.ndarray, runs: int) -> float:
    """Median microseconds per image of `predict(batch)`, thread CPU time."""
    times = []
    for _ in range(runs):
        start = time.thread_time_ns()
        predictor.predict(batch)
        times.append(time.thread_time_ns() - start)
    return float(np.median(times)) / 1e3 / len(batch)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("specs", nargs="+")
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    mnist = load_mnist()
    calibration = representative_images(mnist.x_train, mnist.y_train, 500, 0)
    batch = mnist.x_test[:CHUNK]
    rows, predictors = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for k, spec in enumerate(args.specs):
            model = build(spec)
            keras_path, int8_path = Path(tmp) / f"{k}.keras", Path(tmp) / f"{k}.int8.tflite"
            model.save(keras_path)
            int8_path.write_bytes(export_int8(model, calibration))
            card = report_card(keras_path)["totals"]
            predictors.append(Predictor(int8_path, threads=1, scaling=None))
            rows.append({"spec": spec, "params": int(card["params"]), "macs": int(card["macs"]), "int8_bytes": int8_path.stat().st_size, "us_per_image": []})
        for predictor in predictors:
            time_per_image(predictor, batch, 50)  # warm caches and the runtime's first-call work
        for _ in range(args.repeats):
            for row, predictor in zip(rows, predictors):
                row["us_per_image"].append(time_per_image(predictor, batch, args.runs))
    first = np.median(rows[0]["us_per_image"])
    for row in rows:
        row["ratio_to_first"] = float(np.median(row["us_per_image"]) / first)
    record = {"kind": "camera-layers", "batch": CHUNK, "runs": args.runs, "repeats": args.repeats, "results": rows, **stamp()}
    print(table(record, markdown=False))
    if args.json:
        write_atomic(args.json, (json.dumps(record, indent=2) + "\n").encode())
    return 0


COLUMNS = (
    Column("layout", lambda r: f"`{r['spec']}`"),
    Column.of("params", ","),
    Column("MACs", lambda r: f"{r['macs'] / 1e6:.2f} M", right=True),
    Column("int8", lambda r: f"{r['int8_bytes'] / 1024:.1f} kB", right=True),
    Column("us per image", lambda r: f"{min(r['us_per_image']):.1f}-{max(r['us_per_image']):.1f}", right=True),
    Column("vs first", lambda r: f"{r['ratio_to_first']:.2f}x", right=True),
)


def table(record: dict, markdown: bool = True) -> str:
    caption = (f"int8, batches of {record['batch']}, one thread; {record['repeats']} repeats of the median of {record['runs']} runs"
               f" (range over repeats); {stamp_line(record)}")
    return "\n".join([render(COLUMNS, record["results"], markdown), "", caption])


if __name__ == "__main__":
    raise SystemExit(main())
