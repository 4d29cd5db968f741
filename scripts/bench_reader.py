"""How well and how fast the camera reader reads handwriting: generated photos, real photos, one core.

    python scripts/bench_reader.py --model artifacts/cnn-camera/cnn-camera.int8.tflite
        [--frames 200 --seed 7] [--photos ../shared/photos] [--markers 60] [--forms 40] [--underlined 40] [--notebook 40] [--timing-frames 100 --passes 5]
        [--soak N] [--stroke-stats] [--json reader.json]

Hard generator (edge_mnist.camera.synth, MNIST test digits only): `--frames` seeded photos of
handwritten numbers read through the product's folder source: digit recall and accuracy (a digit is
found when a read digit's box centre falls in its box), extra digits, numbers and lines read
exactly, digits read in reading order.

Fat markers (`--markers N`): N seeded pages of one number of 1-3 MNIST test digits, 80-260 px tall,
written with a pen a sixth to a third of their height wide (a marker held close to the camera, up to
strokes far wider than the hard generator's): digits read in order, extra digits, numbers exact.

Forms (`--forms N`): N seeded pages of one number of 3-5 MNIST test digits, 40-80 px tall, each digit
in a printed box of its own (every other page a comb of boxes sharing their sides), the page turned up
to 5 degrees: digits read in order, extra, numbers exact.

Underlined numbers (`--underlined N`): N seeded pages of one number of 2-4 test digits, 35-70 px tall,
with a line drawn under it (apart from the digits), the page turned up to 4 degrees.

Notebook pages (`--notebook N`): N seeded pages of small writing, 14-30 px tall in the 640x480 frame,
as many lines as fit of two or three numbers of 1-4 test digits each, sitting on a notebook's printed
rules (with a margin), the page turned up to 5 degrees: digits read in order, extra, numbers exact.

Real photos (`--photos DIR` with a truth.tsv of `file<TAB>truth`, lines separated by '/', numbers
by a space): per photo and in total, the share of digits read in reading order, extra digits, and
numbers and lines read exactly (edge_mnist.camera.evaluate).

Timing: frames of exactly ten digits, each recognized `--passes` times by one process pinned to one
core with one interpreter thread and one OpenCV thread; reported per frame: the median, the 90th
percentile, and the 90th percentile of each frame's best pass (free of scheduler interruptions on
a shared machine), against the 5 ms target, with the median of each stage.

`--soak N` plays the timing frames as a looped video for N frames and reports resident memory.
`--stroke-stats` prints the stroke widths behind edge_mnist.camera.preprocess's constants.
"""
import argparse
import csv
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from edge_mnist.camera.evaluate import TextScore, score_text
from edge_mnist.camera.recognize import Recognizer, load_classifier, recognize_frames
from edge_mnist.camera.sources import Frame, open_source, read_image
from edge_mnist.camera.synth import make_dataset, score
from edge_mnist.data import load_mnist
from edge_mnist.files import write_atomic
from edge_mnist.firmware_bench.machine import stamp, stamp_line

TARGET_MS = 5.0


def model_accuracy(model) -> float | None:
    """The exported file's accuracy on the MNIST test set (a fraction), from the manifest beside it, if any."""
    try:
        entry = json.loads((Path(model).parent / "manifest.json").read_text())["files"][Path(model).name]
        return entry["parity"]["accuracy"] / 100
    except (OSError, ValueError, KeyError, TypeError):
        return None


def training_record(model) -> dict | None:
    """How the model beside this file was trained (its history.json), if it is there."""
    for history in Path(model).parent.glob("*.history.json"):
        try:
            record = json.loads(history.read_text())
        except (OSError, ValueError):
            continue
        keep = ("preset", "precision", "seed", "seconds", "test_accuracy", "cpu", "recipe")
        return {k: record[k] for k in keep if k in record}
    return None


def generated(recognizer, folder: Path) -> dict:
    with open_source(str(folder)) as source:
        results = list(recognize_frames(recognizer, source))
    s = score(results, folder / "labels.json")
    t = s.text
    return {
        "frames": len(results),
        "digits": s.digits,
        "recall": s.recall,
        "accuracy": s.accuracy,
        "extra": s.extra,
        "numbers": t.numbers,
        "numbers_exact": t.numbers_rate,
        "lines": t.lines,
        "lines_exact": t.lines_rate,
        "read_in_order": t.read_rate,
    }


def _read_pages(recognizer, pages: int, seed: int, page) -> dict:
    """Read `pages` pages, each drawn by `page(rng, index)` as the scene and the image to read (a
    ValueError: it does not fit the frame, draw again), and score them."""
    rng = np.random.default_rng(seed)
    total, written = TextScore(0, 0, 0, 0, 0, 0, 0), 0
    while written < pages:
        try:
            scene, image = page(rng, written)
        except ValueError:
            continue
        total = total + score_text(recognizer.recognize(Frame(written, 0.0, "page", image)).text, scene.text)
        written += 1
    return {"pages": pages, "seed": seed, "digits": total.digits, "read_in_order": total.read_rate, "extra": total.extra,
            "numbers": total.numbers, "numbers_exact": total.numbers_rate}


def _pages(recognizer, mnist, pages: int, seed: int, digits, height, pen, spacing: float, draw=None, turn: float = 0.0) -> dict:
    """Read `pages` pages of one number of `digits` (min, max) test digits, `height(rng)` px tall in a
    `pen(rng, height)` px pen, `spacing` heights apart; `draw(image, scene, height)` adds to the page
    what the bench is about, and the page is then turned up to `turn` degrees either way."""
    from edge_mnist.camera.synth import write_page

    def page(rng, index: int):
        size = height(rng)
        width = pen(rng, size)
        picks = [int(i) for i in rng.integers(0, len(mnist.x_test), int(rng.integers(digits[0], digits[1] + 1)))]
        scene = write_page(mnist, [[picks]], height=size, pen=width, spacing=spacing, seed=index)
        if draw is None:
            return scene, scene.image
        image = scene.image.copy()
        draw(image, scene, size, index)
        return scene, _turned(image, rng.uniform(-turn, turn))

    return _read_pages(recognizer, pages, seed, page)


def markers(recognizer, mnist, pages: int, seed: int) -> dict:
    return _pages(recognizer, mnist, pages, seed, (1, 3), lambda rng: float(np.exp(rng.uniform(np.log(80), np.log(260)))),
                  lambda rng, size: size * rng.uniform(1 / 6, 1 / 3), 0.2)


def forms(recognizer, mnist, pages: int, seed: int) -> dict:
    import cv2

    def boxes(image, scene, size, n):
        margin = int(0.15 * size)
        drawn = [(x - margin, y - margin, x + w + margin, y + h + margin) for x, y, w, h in (t.box for t in scene.truths)]
        if n % 2:  # a comb: one top and one bottom line, a divider between neighbours
            top, bottom = min(b[1] for b in drawn), max(b[3] for b in drawn)
            edges = [drawn[0][0]] + [(a[2] + b[0]) // 2 for a, b in zip(drawn, drawn[1:])] + [drawn[-1][2]]
            drawn = [(a, top, b, bottom) for a, b in zip(edges, edges[1:])]
        for x0, y0, x1, y1 in drawn:
            cv2.rectangle(image, (x0, y0), (x1, y1), (70, 70, 70), 2, cv2.LINE_AA)

    return _pages(recognizer, mnist, pages, seed, (3, 5), lambda rng: float(rng.uniform(40, 80)), lambda rng, size: size / 15, 0.6, boxes, 5)


def underlined(recognizer, mnist, pages: int, seed: int) -> dict:
    import cv2

    def underline(image, scene, size, n):
        boxes = [t.box for t in scene.truths]
        y = max(b[1] + b[3] for b in boxes) + int(0.15 * size)
        cv2.line(image, (boxes[0][0] - int(0.3 * size), y), (boxes[-1][0] + boxes[-1][2] + int(0.3 * size), y), (60, 60, 60), 2, cv2.LINE_AA)

    return _pages(recognizer, mnist, pages, seed, (2, 4), lambda rng: float(rng.uniform(35, 70)), lambda rng, size: size / 15, 0.15, underline, 4)


def notebooks(recognizer, mnist, pages: int, seed: int) -> dict:
    """Read `pages` notebook pages: as many lines as fit of two or three numbers of 1-4 test digits,
    14-30 px tall (a page of small writing in a 640x480 frame), sitting on printed rules, the page
    turned up to 5 degrees."""
    from edge_mnist.camera.synth import HEIGHT, write_page

    def page(rng, index: int):
        size = float(np.exp(rng.uniform(np.log(14), np.log(30))))
        rows = min(8, int((HEIGHT - 60) / (1.6 * size)))
        lines = [[[int(i) for i in rng.integers(0, len(mnist.x_test), int(rng.integers(1, 5)))] for _ in range(int(rng.integers(2, 4)))] for _ in range(rows)]
        scene = write_page(mnist, lines, height=size, pen=size * rng.uniform(1 / 14, 1 / 8), spacing=0.2, separator=str(rng.choice(["gap", "dash"])),
                           turn=float(rng.uniform(-5, 5)), paper="notebook", seed=index)
        return scene, scene.image

    return _read_pages(recognizer, pages, seed, page)


def _turned(image: np.ndarray, degrees: float) -> np.ndarray:
    import cv2

    turn = cv2.getRotationMatrix2D((image.shape[1] / 2, image.shape[0] / 2), float(degrees), 1.0)
    return cv2.warpAffine(image, turn, image.shape[1::-1], borderMode=cv2.BORDER_REPLICATE)


def _truths(folder: Path) -> list[dict]:
    with open(folder / "truth.tsv", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def photos(recognizer, folder: Path) -> dict:
    rows, total = [], TextScore(0, 0, 0, 0, 0, 0, 0)
    for row in _truths(folder):
        result = recognizer.recognize(Frame(0, 0.0, row["file"], read_image(folder / row["file"])))
        s = score_text(result.text, row["truth"])
        total = total + s
        rows.append({"file": row["file"], "truth": row["truth"], "text": result.text.replace("\n", "/"), **s.__dict__})
    return {
        "images": len(rows),
        "digits": total.digits,
        "read_in_order": total.read_rate,
        "extra": total.extra,
        "extra_rate": total.extra_rate,
        "numbers": total.numbers,
        "numbers_exact": total.numbers_rate,
        "lines": total.lines,
        "lines_exact": total.lines_rate,
        "per_image": rows,
    }


def _variants(image: np.ndarray):
    """The photo as it is and as another camera or hand might have taken it."""
    import cv2

    h, w = image.shape[:2]
    yield "as taken", image
    yield "half size", cv2.resize(image, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    yield "1.5x size", cv2.resize(image, (w * 3 // 2, h * 3 // 2), interpolation=cv2.INTER_CUBIC)
    if w > 640:  # as a webcam would take it
        yield "640 px wide", cv2.resize(image, (640, round(h * 640 / w)), interpolation=cv2.INTER_AREA)
    # The camera tilted back: the page's top a quarter narrower than its bottom.
    corners = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    yield "camera tilted", cv2.warpPerspective(image, cv2.getPerspectiveTransform(corners, corners + np.float32([[w / 8, 0], [-w / 8, 0], [0, 0], [0, 0]])), (w, h), borderMode=cv2.BORDER_REPLICATE)
    for angle in (-6, 6):
        yield f"turned {angle:+d} deg", _turned(image, angle)
    yield "blurred (sigma 1.5)", cv2.GaussianBlur(image, (0, 0), 1.5)
    yield "JPEG quality 40", cv2.imdecode(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 40])[1], cv2.IMREAD_COLOR)
    yield "darker (x0.6)", (image * 0.6).astype(np.uint8)


def perturbed(recognizer, folder: Path) -> list[dict]:
    """Every real photo under each variant, scored in total per variant: how much the figures on the
    photos the reader was tuned on owe to exactly these pictures."""
    totals: dict[str, TextScore] = {}
    for row in _truths(folder):
        for name, image in _variants(read_image(folder / row["file"])):
            s = score_text(recognizer.recognize(Frame(0, 0.0, row["file"], image)).text, row["truth"])
            totals[name] = totals.get(name, TextScore(0, 0, 0, 0, 0, 0, 0)) + s
    return [{"variant": name, "read_in_order": t.read_rate, "extra": t.extra, "extra_rate": t.extra_rate, "numbers_exact": t.numbers_rate} for name, t in totals.items()]


def timing(recognizer, frames: list, passes: int) -> dict:
    totals, cpu, stages = [], [], {"preprocess": [], "infer": [], "postprocess": []}
    for frame in frames[:3]:
        recognizer.recognize(frame)  # warm-up: first interpreter resizes, OpenCV's first calls
    for _ in range(passes):
        for frame in frames:
            start, start_cpu = time.perf_counter_ns(), time.thread_time_ns()
            result = recognizer.recognize(frame)
            totals.append((time.perf_counter_ns() - start) / 1e6)
            cpu.append((time.thread_time_ns() - start_cpu) / 1e6)
            for stage in stages:
                stages[stage].append(result.timings_ms[stage])
    per_frame = np.array(totals).reshape(passes, -1)
    return {
        "frames": len(frames),
        "passes": passes,
        "median_ms": float(np.median(per_frame)),
        "p90_ms": float(np.percentile(per_frame, 90)),
        "p90_best_of_passes_ms": float(np.percentile(per_frame.min(axis=0), 90)),
        # CPU time of this thread (interpreter and OpenCV run on it: one thread each): what the frame
        # costs the core, whatever else the shared machine runs meanwhile.
        "cpu_median_ms": float(np.median(cpu)),
        "cpu_p90_ms": float(np.percentile(cpu, 90)),
        "stages_median_ms": {k: float(np.median(v)) for k, v in stages.items()},
        "target_ms": TARGET_MS,
    }


def soak(recognizer, video: Path, frames: int) -> dict:
    rss = []
    with open_source(str(video), loop=True, max_frames=frames) as source:
        for result in recognize_frames(recognizer, source):
            if result.index % 1000 == 0:
                with open("/proc/self/statm") as f:
                    rss.append(round(int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20, 1))
    return {"frames": frames, "rss_mb_every_1000_frames": rss}


def stroke_stats(mnist) -> dict:
    import cv2

    from edge_mnist.camera.preprocess import mnist_style, width_at_40

    def tight(image):
        ys, xs = np.nonzero(image > 30)
        return image[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]

    widths = [width_at_40(tight(d)) for d in mnist.x_test]
    pens = {}
    for pen in (1, 2, 4, 8, 12, 16, 24, 32, 48):
        canvas = np.zeros((240, 180), np.uint8)
        cv2.polylines(canvas, [np.array([[40, 40], [140, 40], [70, 200]])], False, 255, pen)
        pens[pen] = {"in": width_at_40(tight(canvas)), "out": width_at_40(tight(mnist_style(canvas, normalize_stroke=False))), "out_normalized": width_at_40(tight(mnist_style(canvas)))}
    return {"mnist_percentiles_5_10_50_90_95": np.percentile(widths, [5, 10, 50, 90, 95]).round(2).tolist(), "pens_200px_seven": pens}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="artifacts/cnn-camera/cnn-camera.int8.tflite")
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--squared", type=int, default=0, metavar="N", help="Also N generated frames on squared paper, scored apart.")
    parser.add_argument("--photos", type=Path, default=None)
    parser.add_argument("--markers", type=int, default=0, metavar="N", help="Also N pages of big digits written with a fat marker.")
    parser.add_argument("--forms", type=int, default=0, metavar="N", help="Also N pages of digits written in the printed boxes of a form.")
    parser.add_argument("--underlined", type=int, default=0, metavar="N", help="Also N pages of an underlined number.")
    parser.add_argument("--notebook", type=int, default=0, metavar="N", help="Also N notebook pages of small writing on printed rules.")
    parser.add_argument("--perturb", action="store_true", help="Also read every photo resized (and at 640 px wide), turned, from a tilted camera, blurred, recompressed, darker.")
    parser.add_argument("--timing-frames", type=int, default=100)
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--soak", type=int, default=0, metavar="N")
    parser.add_argument("--stroke-stats", action="store_true")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    import cv2

    cv2.setNumThreads(1)
    recognizer = Recognizer(load_classifier(args.model, threads=1))
    mnist = load_mnist()
    predictor = recognizer.predictor
    report = {
        **stamp({predictor.runtime.value: predictor.runtime_version}),
        "core": core,
        "model": str(args.model),
        "model_accuracy": model_accuracy(args.model),
        "training": training_record(args.model),
        "runtime": f"{predictor.runtime.value} {predictor.runtime_version}",
    }
    with tempfile.TemporaryDirectory(prefix="edge-mnist-bench-reader-") as scratch:
        work = Path(scratch)
        if args.frames:
            make_dataset(work / "hard", mnist, frames=args.frames, seed=args.seed, video=False)
            report["generated"] = {"seed": args.seed, **generated(recognizer, work / "hard")}
        if args.squared:
            make_dataset(work / "squared", mnist, frames=args.squared, seed=args.seed, video=False, papers=("squared",))
            report["squared"] = {"seed": args.seed, **generated(recognizer, work / "squared")}
        if args.markers:
            report["markers"] = markers(recognizer, mnist, args.markers, args.seed)
        if args.forms:
            report["forms"] = forms(recognizer, mnist, args.forms, args.seed)
        if args.underlined:
            report["underlined"] = underlined(recognizer, mnist, args.underlined, args.seed)
        if args.notebook:
            report["notebook"] = notebooks(recognizer, mnist, args.notebook, args.seed)
        if args.photos:
            report["photos"] = {"folder": str(args.photos), **photos(recognizer, args.photos)}
            if args.perturb:
                report["photos"]["perturbed"] = perturbed(recognizer, args.photos)
        if args.timing_frames:
            labels = make_dataset(work / "ten", mnist, frames=args.timing_frames, digits=(10, 10), seed=args.seed + 1, video=args.soak > 0)
            records = json.loads(labels.read_text())["frames"]
            frames = [Frame(i, 0.0, r["image"], read_image(work / "ten" / r["image"])) for i, r in enumerate(records)]
            report["timing"] = {"digits_per_frame": float(np.mean([len(r["digits"]) for r in records])), **timing(recognizer, frames, args.passes)}
            if args.soak:
                report["soak"] = soak(recognizer, work / "ten" / "digits.avi", args.soak)
    if args.stroke_stats:
        report["stroke_stats"] = stroke_stats(mnist)
    report["load_after"] = list(os.getloadavg())

    print(f"{stamp_line(report)} to {report['load_after'][0]:.2f}; core {core}, {report['runtime']}, {args.model}")
    if report["model_accuracy"] is not None:
        print(f"model: {report['model_accuracy']:.2%} on the MNIST test set (from its manifest)")
    if "generated" in report:
        g = report["generated"]
        print(
            f"generated photos (seed {args.seed}, {g['frames']} frames, {g['digits']} digits): recall {g['recall']:.2%}, accuracy {g['accuracy']:.2%}, "
            f"{g['extra']} extra; numbers exact {g['numbers_exact']:.2%} of {g['numbers']}, lines exact {g['lines_exact']:.2%} of {g['lines']}, "
            f"read in order {g['read_in_order']:.2%}"
        )
    if "squared" in report:
        g = report["squared"]
        print(f"generated photos on squared paper ({g['frames']} frames, {g['digits']} digits): recall {g['recall']:.2%}, accuracy {g['accuracy']:.2%}, "
              f"{g['extra']} extra; numbers exact {g['numbers_exact']:.2%}, read in order {g['read_in_order']:.2%}")
    for key, what in (("markers", "fat markers"), ("forms", "digits in printed boxes"), ("underlined", "underlined numbers"), ("notebook", "notebook pages")):
        if key in report:
            m = report[key]
            print(f"{what} ({m['pages']} pages, {m['digits']} digits): read in order {m['read_in_order']:.2%}, {m['extra']} extra, numbers exact {m['numbers_exact']:.2%}")
    if "photos" in report:
        p = report["photos"]
        for row in p["per_image"]:
            print(f"  {row['file']:<28} {row['text']!r:<44} truth {row['truth']!r}")
        print(
            f"real photos ({p['images']} images, {p['digits']} digits): read in order {p['read_in_order']:.2%}, {p['extra']} extra ({p['extra_rate']:.2%}), "
            f"numbers exact {p['numbers_exact']:.2%} of {p['numbers']}, lines exact {p['lines_exact']:.2%} of {p['lines']}"
        )
    for v in report.get("photos", {}).get("perturbed", []):
        print(f"  {v['variant']:<20} read in order {v['read_in_order']:.2%}, {v['extra']} extra, numbers exact {v['numbers_exact']:.2%}")
    if "timing" in report:
        t = report["timing"]
        stages = ", ".join(f"{k} {v:.2f}" for k, v in t["stages_median_ms"].items())
        print(
            f"per 640x480 frame with {t['digits_per_frame']:.1f} digits, one core: median {t['median_ms']:.2f} ms, p90 {t['p90_ms']:.2f} ms, "
            f"p90 of best pass {t['p90_best_of_passes_ms']:.2f} ms = {t['median_ms'] / TARGET_MS:.2f} x the {TARGET_MS:.0f} ms target; "
            f"CPU time median {t['cpu_median_ms']:.2f} ms, p90 {t['cpu_p90_ms']:.2f} ms (median ms: {stages})"
        )
    if "soak" in report:
        print(f"soak: {args.soak} frames; resident MB every 1000 frames: {report['soak']['rss_mb_every_1000_frames']}")
    if "stroke_stats" in report:
        print(f"stroke widths: {json.dumps(report['stroke_stats'])}")
    if args.json:
        write_atomic(Path(args.json), (json.dumps(report, indent=2) + "\n").encode())


# -- the tables of docs/benchmarks.md (scripts/render_docs.py calls these with the JSON loaded) -------
def _model_name(record: dict) -> str:
    trained = record.get("training") or {}
    return Path(record["model"]).name + (f" (seed {trained['seed']})" if "seed" in trained else "")


def _stamp(record: dict) -> str:
    return f"{stamp_line(record)} to {record['load_after'][0]:.2f}; one core used; model `{_model_name(record)}`"


def reading_table(*records, markdown: bool = True) -> str:
    """Generated photos and real photos, one row per run (several runs: several models or seeds)."""
    from edge_mnist.table import Column, render

    rows = []
    for r in records:
        g, p = r.get("generated"), r.get("photos")
        trained = r.get("training") or {}
        rows.append(
            {
                "model": _model_name(r),
                "mnist": r.get("model_accuracy"),
                "gen": f"{g['digits']} digits, seed {g['seed']}" if g else "-",
                "recall": g and g["recall"], "accuracy": g and g["accuracy"], "extra": g and g["extra"],
                "numbers": g and g["numbers_exact"], "lines": g and g["lines_exact"],
                "photo_read": p and p["read_in_order"], "photo_extra": p and f"{p['extra']} ({p['extra_rate']:.1%})",
                "photo_numbers": p and p["numbers_exact"],
                "squared_recall": r.get("squared", {}).get("recall"), "squared_numbers": r.get("squared", {}).get("numbers_exact"),
                "marker_read": r.get("markers", {}).get("read_in_order"), "marker_numbers": r.get("markers", {}).get("numbers_exact"),
                "form_read": r.get("forms", {}).get("read_in_order"), "form_numbers": r.get("forms", {}).get("numbers_exact"),
                "under_read": r.get("underlined", {}).get("read_in_order"), "under_numbers": r.get("underlined", {}).get("numbers_exact"),
                "notebook_read": r.get("notebook", {}).get("read_in_order"), "notebook_numbers": r.get("notebook", {}).get("numbers_exact"),
            }
        )
    columns = [
        Column.of("model"), Column.of("mnist", ".2%", title="MNIST test"), Column.of("gen", title="generated photos"),
        Column.of("recall", ".2%"), Column.of("accuracy", ".2%"), Column.of("extra", "d", title="extra"),
        Column.of("numbers", ".2%", title="numbers exact"), Column.of("lines", ".2%", title="lines exact"),
        Column.of("photo_read", ".2%", title="real photos: digits in order"), Column.of("photo_extra", title="extra"),
        Column.of("photo_numbers", ".2%", title="numbers exact"),
    ]
    if any("squared" in r for r in records):
        columns += [Column.of("squared_recall", ".2%", title="squared paper: recall"), Column.of("squared_numbers", ".2%", title="numbers exact")]
    if any("markers" in r for r in records):
        columns += [Column.of("marker_read", ".2%", title="fat marker: digits in order"), Column.of("marker_numbers", ".2%", title="numbers exact")]
    if any("forms" in r for r in records):
        columns += [Column.of("form_read", ".2%", title="forms: digits in order"), Column.of("form_numbers", ".2%", title="numbers exact")]
    if any("underlined" in r for r in records):
        columns += [Column.of("under_read", ".2%", title="underlined: digits in order"), Column.of("under_numbers", ".2%", title="numbers exact")]
    if any("notebook" in r for r in records):
        columns += [Column.of("notebook_read", ".2%", title="notebook: digits in order"), Column.of("notebook_numbers", ".2%", title="numbers exact")]
    return render(columns, rows, markdown) + "\n\n" + "\n".join(f"- {_stamp(r)}" for r in records)


def photos_table(record: dict, markdown: bool = True) -> str:
    """What was read on each real photo, against its truth."""
    from edge_mnist.table import Column, render

    columns = [
        Column.of("file"), Column.of("truth"), Column.of("text", title="read"),
        Column("digits in order", lambda r: f"{r['read']}/{r['digits']}", True), Column.of("extra", "d"),
        Column("numbers exact", lambda r: f"{r['numbers_exact']}/{r['numbers']}", True),
    ]
    return render(columns, record["photos"]["per_image"], markdown) + "\n\n" + _stamp(record)


def perturbed_table(*records, markdown: bool = True) -> str:
    """The real photos under each variant (--perturb), one column group per run."""
    from edge_mnist.table import Column, render

    rows = {}
    for n, r in enumerate(records):
        for v in r["photos"]["perturbed"]:
            rows.setdefault(v["variant"], {"variant": v["variant"]})[n] = v
    columns = [Column.of("variant", title="photos")]
    for n, r in enumerate(records):
        name = _model_name(r)
        columns += [
            Column(f"{name}: digits in order", lambda row, n=n: f"{row[n]['read_in_order']:.1%}", True),
            Column("extra", lambda row, n=n: str(row[n]["extra"]), True),
            Column("numbers exact", lambda row, n=n: f"{row[n]['numbers_exact']:.1%}", True),
        ]
    return render(columns, list(rows.values()), markdown) + "\n\n" + "\n".join(f"- {_stamp(r)}" for r in records)


def readme_table(*records, markdown: bool = True) -> str:
    """The README's camera rows: reading runs (one per seed), then a timing run."""
    from edge_mnist.table import Column, render

    reading = [r for r in records if "photos" in r]
    generated = [r for r in records if "generated" in r]
    timed = [r for r in records if "timing" in r]
    cpu = sorted(r["timing"]["cpu_median_ms"] for r in timed)

    def each(get) -> str:
        return " / ".join(get(r) for r in reading)

    def verdict(met: bool) -> str:
        return "met" if met else "not met"

    def spread(get) -> str:
        values = sorted(get(r) for r in generated)
        return f"{values[0]:.1%}-{values[-1]:.1%}"

    seeds = each(lambda r: str((r.get("training") or {}).get("seed", "?")))
    rows = [
        ("`cnn-camera` int8 on the MNIST test set, seeds " + seeds, each(lambda r: f"{r['model_accuracy']:.2%}")),
        ("camera reader, the 9 development photos (tuned on them): digits in order, extra, numbers exact",
         each(lambda r: f"{r['photos']['read_in_order']:.1%}") + ", " + each(lambda r: str(r["photos"]["extra"])) + " of "
         + str(reading[0]["photos"]["digits"]) + ", " + each(lambda r: f"{r['photos']['numbers_exact']:.1%}")
         + f" (targets 95%, 2%, 85%: {verdict(all(r['photos']['read_in_order'] >= 0.95 and r['photos']['extra_rate'] <= 0.02 and r['photos']['numbers_exact'] >= 0.85 for r in reading))})"),
        (f"camera reader, hard generated photos (generator seeds {', '.join(str(s) for s in sorted({r['generated']['seed'] for r in generated}))}; "
         f"model seeds {', '.join(sorted({str((r.get('training') or {}).get('seed', '?')) for r in generated}))}): recall, accuracy, numbers exact, lowest-highest",
         ", ".join(spread(lambda r: r["generated"][key]) for key in ("recall", "accuracy", "numbers_exact"))
         + f" (targets 98%, 98%, 95%: {verdict(all(r['generated']['recall'] >= 0.98 and r['generated']['accuracy'] >= 0.98 and r['generated']['numbers_exact'] >= 0.95 for r in generated))})"),
    ]
    if all("squared" in r for r in reading):
        rows.append(("camera reader, the same on squared paper: recall, accuracy, numbers exact",
                     each(lambda r: f"{r['squared']['recall']:.1%}") + ", " + each(lambda r: f"{r['squared']['accuracy']:.1%}") + ", "
                     + each(lambda r: f"{r['squared']['numbers_exact']:.1%}") + " (no target)"))
    if all("markers" in r for r in reading):
        rows.append(("camera reader, big digits in a fat marker (strokes a sixth to a third of their height): digits in order, numbers exact",
                     each(lambda r: f"{r['markers']['read_in_order']:.1%}") + ", " + each(lambda r: f"{r['markers']['numbers_exact']:.1%}") + " (no target)"))
    if all("forms" in r for r in reading):
        rows.append(("camera reader, digits in the printed boxes of a form, turned up to 5 degrees: digits in order, numbers exact",
                     each(lambda r: f"{r['forms']['read_in_order']:.1%}") + ", " + each(lambda r: f"{r['forms']['numbers_exact']:.1%}") + " (no target)"))
    if all("underlined" in r for r in reading):
        rows.append(("camera reader, a number with a line drawn under it: digits in order, numbers exact",
                     each(lambda r: f"{r['underlined']['read_in_order']:.1%}") + ", " + each(lambda r: f"{r['underlined']['numbers_exact']:.1%}") + " (no target)"))
    if all("notebook" in r for r in reading):
        rows.append(("camera reader, notebook pages of small writing (14-30 px) on printed rules: digits in order, numbers exact",
                     each(lambda r: f"{r['notebook']['read_in_order']:.1%}") + ", " + each(lambda r: f"{r['notebook']['numbers_exact']:.1%}") + " (no target)"))
    rows.append(("camera reader, 640x480 frame with ten digits, one core",
                 f"{cpu[0]:.2f}-{cpu[-1]:.2f} ms CPU time, median of each of {len(cpu)} runs (target 5 ms: {verdict(cpu[-1] <= TARGET_MS)})"))
    dates = sorted({r["date"][:10] for r in records})
    columns = [Column("what", lambda row: row[0]), Column("figure", lambda row: row[1]), Column("measured on", lambda row: f"{timed[0]['machine']['cpu']}, {timed[0]['machine']['cores']} cores, {' and '.join(dates)}")]
    return render(columns, rows, markdown)


def timing_table(*records, markdown: bool = True) -> str:
    """Milliseconds per 640x480 frame with ten digits, one core, one row per run."""
    from edge_mnist.table import Column, render

    rows = [{**r["timing"], **{f"stage_{k}": v for k, v in r["timing"]["stages_median_ms"].items()}, "model": _model_name(r), "date": r["date"][:16].replace("T", " ")} for r in records]
    columns = [
        Column.of("date"), Column.of("model"), Column.of("median_ms", ".2f", title="median"), Column.of("p90_ms", ".2f", title="p90"),
        Column.of("p90_best_of_passes_ms", ".2f", title="p90 of each frame's best pass"),
        Column.of("cpu_median_ms", ".2f", title="CPU time, median"), Column.of("cpu_p90_ms", ".2f", title="CPU time, p90"),
        Column.of("stage_preprocess", ".2f", title="preprocess"), Column.of("stage_infer", ".2f", title="inference"), Column.of("stage_postprocess", ".2f", title="reading"),
        Column("median vs 5 ms", lambda r: f"{r['median_ms'] / TARGET_MS:.2f}x", True),
    ]
    return render(columns, rows, markdown) + "\n\n" + "\n".join(f"- {_stamp(r)}" for r in records)


if __name__ == "__main__":
    main()
