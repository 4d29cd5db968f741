"""Wall time of the tutorial CNN recipe against edge-mnist's default recipe, side by side in one run.

The tutorial baseline is keras-io's code as written: Adam, batch 128, 12 epochs, `fit` on numpy
arrays with validation_split=0.1. Usage: python scripts/bench_training.py [--json out.json]
"""
import argparse
import json
import platform
import time


from edge_mnist.data import load_mnist, normalize
from edge_mnist.models import TUTORIAL, Preset, build_model
from edge_mnist.training import train


def tutorial_run(mnist, seed):
    import keras

    keras.utils.set_random_seed(seed)
    recipe = TUTORIAL[Preset.CNN]
    model = build_model(Preset.CNN)
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(normalize(mnist.x_train), mnist.y_train, batch_size=recipe.batch_size, epochs=recipe.epochs, validation_split=0.1, verbose=0)
    seconds = time.perf_counter() - start
    _, acc = model.evaluate(normalize(mnist.x_test), mnist.y_test, verbose=0)
    return {"recipe": "tutorial (keras-io mnist_convnet: adam, batch 128, 12 epochs)", "seconds": seconds, "test_accuracy": float(acc)}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="/tmp/edge-mnist-bench-training")
    args = parser.parse_args()
    mnist = load_mnist()
    fast = train(Preset.CNN, mnist, args.out, seed=args.seed, progress=False)
    runs = [
        tutorial_run(mnist, args.seed),
        {"recipe": f"edge-mnist default ({fast.recipe})", "seconds": fast.seconds, "test_accuracy": fast.test_accuracy},
    ]
    ratio = runs[1]["seconds"] / runs[0]["seconds"]
    print(f"{'recipe':<70} {'seconds':>8} {'test acc':>9}")
    for run in runs:
        print(f"{run['recipe']:<70} {run['seconds']:>8.1f} {run['test_accuracy']:>9.2%}")
    print(f"time ratio default/tutorial: {ratio:.3f} (target <= 0.333, accuracy >= 99.20%)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"runs": runs, "ratio": ratio, "machine": platform.platform(), "cores": __import__("os").cpu_count()}, f, indent=2)


if __name__ == "__main__":
    main()
