"""The default recipes over seeds, on both precision paths: test accuracy per seed, then mean, min and max.

    python scripts/seed_sweep.py --json docs/results/seed-sweep.json [--presets cnn,mlp] [--seeds 0,1,2,3,4] [--precisions auto,float32]

"auto" is the path this CPU takes by itself (mixed bfloat16 where it computes bf16 natively), "float32"
the one a CPU without bf16 takes, forced. Each run trains the preset's default recipe on the full
training split, as `edge-mnist train` does, and is added to the JSON as soon as it ends, so an
interrupted sweep resumes where it stopped. Accuracy is deterministic for a seed on one CPU and does
not depend on the machine's load: run it niced. Another CPU (other kernels, bf16 or not) gives other
figures, which is why both paths are swept and the CPU is recorded.
"""
import argparse
import json
import tempfile
from dataclasses import asdict
from pathlib import Path

from edge_mnist.data import load_mnist
from edge_mnist.files import write_atomic
from edge_mnist.firmware_bench.machine import stamp, stamp_line
from edge_mnist.models import DEFAULT, Preset
from edge_mnist.table import Column, render
from edge_mnist.training import resolve_precision, train

# The floors every seed and path must clear (test accuracy, 0-1).
FLOORS = {"cnn": {"mean": 0.993, "min": 0.992}, "mlp": {"min": 0.984}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--presets", default="cnn,mlp")
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--precisions", default="auto,float32")
    args = parser.parse_args()
    sweep = json.loads(args.json.read_text()) if args.json.exists() else {"kind": "seed-sweep", "floors": FLOORS, "runs": []}
    mnist = load_mnist()
    for name in args.presets.split(","):
        preset = Preset(name)
        recipe = DEFAULT[preset]
        for switch in args.precisions.split(","):
            for seed in map(int, args.seeds.split(",")):
                precision = resolve_precision(recipe, switch)
                key = (name, switch, seed)
                if any((r["preset"], r["switch"], r["seed"]) == key and r["recipe"] == asdict(recipe) for r in sweep["runs"]):
                    continue
                twin = same_computation(sweep["runs"], name, seed, recipe, precision)
                if twin:
                    # A recipe in float32 (the mlp's) computes the same on both paths: training is deterministic
                    # for a seed on one CPU, so the other path's run is this one, recorded under both names.
                    run = {**twin, "switch": switch, "same_as": twin["switch"]}
                else:
                    with tempfile.TemporaryDirectory() as out:
                        result = train(preset, mnist, out, seed=seed, progress=False, precision=switch)
                    run = {"preset": name, "switch": switch, "precision": precision, "seed": seed, "recipe": result.recipe,
                           "test_accuracy": result.test_accuracy, "seconds": result.seconds, **stamp()}
                sweep["runs"] = [r for r in sweep["runs"] if (r["preset"], r["switch"], r["seed"]) != key] + [run]
                write_atomic(args.json, (json.dumps(sweep, indent=2) + "\n").encode())
                same = f" (the {run['same_as']} run: the same computation)" if "same_as" in run else ""
                print(f"{name} {switch} ({precision}) seed {seed}: {run['test_accuracy']:.2%} in {run['seconds']:.0f} s{same}", flush=True)
    print(table(sweep))


def same_computation(runs: list[dict], preset: str, seed: int, recipe, precision: str) -> dict | None:
    """A run already made of this preset, seed and recipe in the same precision on this CPU, if any."""
    from edge_mnist.training import cpu_name

    for run in runs:
        if (run["preset"], run["seed"], run["precision"], run["recipe"]) == (preset, seed, precision, asdict(recipe)) and "same_as" not in run \
                and run["machine"]["cpu"] == cpu_name():
            return run
    return None


def summary(sweep: dict) -> list[dict]:
    """One row per (preset, path): accuracy per seed, mean, min, max, and whether the floors hold."""
    groups: dict[tuple, list] = {}
    for run in sweep["runs"]:
        groups.setdefault((run["preset"], run["switch"]), []).append(run)
    rows = []
    for (preset, switch), runs in groups.items():
        accuracies = [r["test_accuracy"] for r in sorted(runs, key=lambda r: r["seed"])]
        mean, low, high = sum(accuracies) / len(accuracies), min(accuracies), max(accuracies)
        floors = sweep["floors"].get(preset, {})
        met = low >= floors.get("min", 0) - 1e-9 and mean >= floors.get("mean", 0) - 1e-9
        rows.append({"preset": preset, "switch": switch, "precision": runs[0]["precision"], "seeds": [r["seed"] for r in runs],
                     "accuracies": accuracies, "mean": mean, "min": low, "max": high, "floors": floors, "met": met, "runs": runs})
    return rows


def floors_text(floors: dict) -> str:
    return ", ".join(f"{k} >= {v:.1%}" for k, v in floors.items())


COLUMNS = (
    Column.of("preset", title="model"),
    Column("path", lambda r: f"{r['switch']} ({r['precision']})"),
    Column("seeds", lambda r: f"{min(r['seeds'])}-{max(r['seeds'])}" if len(r["seeds"]) > 1 else str(r["seeds"][0])),
    Column("test accuracy per seed", lambda r: " ".join(f"{a:.2%}" for a in r["accuracies"])),
    Column.of("mean", ".2%"),
    Column.of("min", ".2%"),
    Column.of("max", ".2%"),
    Column("floor", lambda r: floors_text(r["floors"])),
    Column("met", lambda r: "yes" if r["met"] else "NO"),
)


def table(sweep: dict, markdown: bool = False) -> str:
    rows = summary(sweep)
    recipes = {r["preset"]: r["runs"][0]["recipe"] for r in rows}
    stamps = sorted({stamp_line(run, time=False, load=False) for row in rows for run in row["runs"]})
    lines = [render(COLUMNS, rows, markdown), ""]
    lines += [f"- `{name}` default recipe: {describe(recipe)}" for name, recipe in recipes.items()]
    for row in rows:
        twins = sorted({run["same_as"] for run in row["runs"] if "same_as" in run})
        if twins:
            lines.append(f"- `{row['preset']}` {row['switch']} path: the recipe computes in float32 on every CPU, so these are the"
                         f" {', '.join(twins)} path's runs (deterministic for a seed on one CPU), not trained twice")
    lines.append(f"- measured on {'; '.join(stamps)}; seconds per run: " + ", ".join(
        f"{r['preset']} {r['switch']} {min(x['seconds'] for x in r['runs']):.0f}-{max(x['seconds'] for x in r['runs']):.0f} s" for r in rows
    ) + " (niced, on a shared machine: not a speed figure)")
    return "\n".join(lines)


def describe(recipe: dict) -> str:
    """A recipe in words: "adam, one-cycle to 6e-3, batch 256, 7 epochs, mixed_bfloat16 where native"."""
    schedule = f"one-cycle to {recipe['learning_rate']:g}" if recipe["schedule"] == "onecycle" else f"learning rate {recipe['learning_rate']:g}"
    precision = "mixed bfloat16 where the CPU has it" if recipe["precision"] != "float32" else "float32"
    extra = "".join(f", {k} {v}" for k, v in recipe.items() if k not in ("optimizer", "learning_rate", "epochs", "batch_size", "schedule", "precision") and v)
    return f"{recipe['optimizer']}, {schedule}, batch {recipe['batch_size']}, {recipe['epochs']} epochs, {precision}{extra}"


if __name__ == "__main__":
    main()
