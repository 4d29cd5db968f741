"""Choose the `edge` preset: small CNNs trained, exported to int8 and measured for a microcontroller.

Each candidate (a `small_cnn` spec, with or without the recipe's augmentation) is trained through
`edge_mnist.training.train`, as the preset itself is, with the given seed,
exported to full int8 (500 calibration images, seed 0) and measured: parameters, MACs (the report
card's count), int8 file size, the TensorFlow Lite Micro arena (measured by bisection), float and int8
test accuracy, and training time. Training time is wall-clock under whatever load the shared machine
had: comparable only roughly, never a benchmark.

    python scripts/sweep_edge.py run --stage screen --epochs 4 c16-p-c32-p-c64-gap ...   # appends to --results
    python scripts/sweep_edge.py report --results sweep.jsonl --table docs/x.md --plot docs/x.png

Target (issue 12): int8 >= 99.4% on the MNIST test set, MACs <= 1/4 of the cnn preset's, int8 file
<= 100 KB, arena <= 64 KB.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TARGET = {"int8_accuracy": 99.4, "mac_fraction": 0.25, "int8_kb": 100, "arena_kb": 64}


def train_candidate(spec: str, recipe, seed: int, mnist, out: Path) -> dict:
    """Train `spec` exactly as `edge-mnist train --model edge` would train the preset with these layers."""
    from edge_mnist import models
    from edge_mnist.training import train

    models.EDGE_LAYERS = spec  # the one training path: data split, optimizer, augmentation hook, seeds
    result = train(models.Preset.EDGE, mnist, out, recipe=recipe, seed=seed, progress=False)
    params = models.load_keras_model(result.model_path).count_params()
    return {"keras": result.model_path, "float_accuracy": result.test_accuracy * 100, "train_seconds": result.seconds, "params": int(params)}


def measure_int8(keras_path: str, mnist) -> dict:
    from edge_mnist.export import tflm
    from edge_mnist.export.calibration import representative_images
    from edge_mnist.export.tflite import export_int8
    from edge_mnist.models import load_keras_model
    from edge_mnist.report_card import report_card
    from edge_mnist.runtime import Predictor

    calibration = representative_images(mnist.x_train, mnist.y_train, 500, 0)
    path = Path(keras_path).with_name("edge.int8.tflite")
    path.write_bytes(export_int8(load_keras_model(keras_path), calibration))
    accuracy = float((Predictor(path).classify(mnist.x_test) == mnist.y_test).mean() * 100)
    card = report_card(keras_path)
    return {
        "int8_accuracy": accuracy,
        "int8_bytes": path.stat().st_size,
        "arena_bytes": tflm.measure(path.read_bytes(), path.name).arena_bytes,
        "macs": card["totals"]["macs"],
    }


def run(args) -> None:
    from dataclasses import asdict, replace

    from edge_mnist.data import load_mnist
    from edge_mnist.models import DEFAULT, Preset

    mnist = load_mnist()
    recipe = replace(DEFAULT[Preset.EDGE], epochs=args.epochs, learning_rate=args.learning_rate, batch_size=args.batch_size, augment=args.augmentation)
    results = Path(args.results)
    results.parent.mkdir(parents=True, exist_ok=True)
    for spec in args.specs:
        for seed in args.seeds:
            out = Path(args.out) / f"{args.stage}-{spec}-{args.augmentation}-e{args.epochs}-s{seed}"
            print(f"{spec} {args.augmentation} epochs={args.epochs} seed={seed}", flush=True)
            row = {"stage": args.stage, "spec": spec, "augmentation": args.augmentation, "seed": seed, "recipe": asdict(recipe)}
            row |= train_candidate(spec, recipe, seed, mnist, out)
            row |= measure_int8(row["keras"], mnist)
            row |= {"cpu": _cpu(), "load_after": os.getloadavg()[0], "date": datetime.now(timezone.utc).isoformat(timespec="seconds")}
            with open(results, "a") as f:
                f.write(json.dumps(row) + "\n")
            print(json.dumps({k: row[k] for k in ("spec", "seed", "float_accuracy", "int8_accuracy", "macs", "int8_bytes", "arena_bytes", "train_seconds")}), flush=True)


def cnn_macs() -> int:
    """The cnn preset's MACs by the report card's count: the yardstick of the MAC budget."""
    import tempfile

    from edge_mnist.models import Preset, build_model
    from edge_mnist.report_card import report_card

    with tempfile.TemporaryDirectory() as tmp:
        build_model(Preset.CNN).save(Path(tmp) / "cnn.keras")
        return report_card(Path(tmp) / "cnn.keras")["totals"]["macs"]


def meets(row: dict, budget: int) -> bool:
    return (
        row["int8_accuracy"] >= TARGET["int8_accuracy"]
        and row["macs"] <= budget
        and row["int8_bytes"] <= TARGET["int8_kb"] * 1024
        and row["arena_bytes"] <= TARGET["arena_kb"] * 1024
    )


def pareto(rows: list[dict]) -> list[dict]:
    """The points no other point beats on both MACs (fewer) and int8 accuracy (higher)."""
    return [r for r in rows if not any(o["macs"] <= r["macs"] and o["int8_accuracy"] > r["int8_accuracy"] for o in rows)]


def report(args) -> None:
    rows = [json.loads(line) for line in Path(args.results).read_text().splitlines() if line.strip()]
    budget = cnn_macs() * TARGET["mac_fraction"]
    front = pareto(rows)
    header = "| stage | spec | augmentation | epochs | seed | params | MACs | int8 | arena | float | int8 acc | train s | target |"
    lines = [header, "|---" * (header.count("|") - 1) + "|"]
    for r in rows:
        lines.append(
            f"| {r['stage']} | `{r['spec']}` | {r['augmentation']} | {r['recipe']['epochs']} | {r['seed']} | {r['params']:,} | {r['macs']:,} |"
            f" {r['int8_bytes'] / 1024:.1f} KB | {r['arena_bytes'] / 1024:.1f} KB | {r['float_accuracy']:.2f}% | {r['int8_accuracy']:.2f}% |"
            f" {r['train_seconds']:.0f} | {'met' if meets(r, budget) else '-'}{' (front)' if r in front else ''} |"
        )
    print("\n".join(lines))
    print(f"\nMAC budget: {budget:,.0f} (a quarter of the cnn preset's {budget * 4:,.0f}). CPU: {rows[0]['cpu']}; "
          f"dates {min(r['date'] for r in rows)[:10]} to {max(r['date'] for r in rows)[:10]}.")
    if args.chosen:
        spec, augmentation, epochs = _key(args.chosen)
        runs = [r for r in rows if (r["spec"], r["augmentation"], r["recipe"]["epochs"]) == (spec, augmentation, epochs)]
        for key in ("float_accuracy", "int8_accuracy", "train_seconds"):
            values = [r[key] for r in runs]
            print(f"{spec} {augmentation} {epochs} epochs, seeds {[r['seed'] for r in runs]}: {key} mean {sum(values) / len(values):.2f}, min {min(values):.2f}, max {max(values):.2f}")
    if args.plot:
        _plot(rows, front, budget, Path(args.plot))
        print(f"plot: {args.plot}")


def _key(chosen: str | None):
    if not chosen:
        return None
    spec, augmentation, epochs = chosen.split(":")
    return spec, augmentation, int(epochs)


def _plot(rows: list[dict], front: list[dict], budget: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for stage, marker in (("screen", "o"), ("full", "s"), ("seeds", "D")):
        group = [r for r in rows if r["stage"] == stage]
        if group:
            sizes = [r["int8_bytes"] / 1024 * 4 for r in group]  # marker area follows the int8 file size
            ax.scatter([r["macs"] / 1e6 for r in group], [r["int8_accuracy"] for r in group], s=sizes, marker=marker, alpha=0.6, label=f"{stage} (area ~ int8 KB)")
    for r in rows:
        ax.annotate(f"{r['spec']}\n{r['augmentation']}, {r['recipe']['epochs']} ep, {r['int8_bytes'] / 1024:.0f} KB", (r["macs"] / 1e6, r["int8_accuracy"]), fontsize=6, xytext=(4, 2), textcoords="offset points")
    ordered = sorted(front, key=lambda r: r["macs"])
    ax.step([r["macs"] / 1e6 for r in ordered], [r["int8_accuracy"] for r in ordered], where="post", color="black", linewidth=1, label="Pareto front")
    ax.axhline(TARGET["int8_accuracy"], color="green", linestyle="--", linewidth=1, label="target 99.4% int8")
    ax.axvline(budget / 1e6, color="red", linestyle="--", linewidth=1, label="MAC budget (cnn / 4)")
    ax.set_xlabel("MACs per image (millions)")
    ax.set_ylabel("int8 test accuracy (%)")
    ax.set_title("edge preset sweep: int8 accuracy vs MACs (marker area ~ int8 file size)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="train and measure candidates; one JSON line each")
    r.add_argument("specs", nargs="+")
    r.add_argument("--stage", default="screen")
    r.add_argument("--augmentation", choices=["none", "affine"], default="none", help="the training recipe's augment")
    r.add_argument("--epochs", type=int, default=4)
    r.add_argument("--learning-rate", type=float, default=0.004)
    r.add_argument("--batch-size", type=int, default=128)
    r.add_argument("--seeds", type=int, nargs="+", default=[0])
    r.add_argument("--results", default="/work/runs/12/sweep/results.jsonl")
    r.add_argument("--out", default="/work/runs/12/sweep/models")
    p = sub.add_parser("report", help="markdown table, seed summary and Pareto plot of a results file")
    p.add_argument("--results", default="/work/runs/12/sweep/results.jsonl")
    p.add_argument("--plot", default=None)
    p.add_argument("--chosen", default=None, help="SPEC:AUGMENTATION:EPOCHS whose seeds to summarise")
    args = parser.parse_args()
    (run if args.command == "run" else report)(args)


if __name__ == "__main__":
    sys.exit(main())
