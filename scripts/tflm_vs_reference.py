"""Where TensorFlow Lite Micro and LiteRT's reference kernels differ on one full-int8 model, operator by operator.

Both interpreters keep every intermediate tensor; for each test digit, each operator's output is
compared in quantization steps. Prints, per operator, on how many digits it differs and by how much.

    python scripts/tflm_vs_reference.py artifacts/edge/edge.int8.tflite [--limit 10000]
"""
from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--limit", type=int, default=10000)
    args = parser.parse_args()

    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    from tflite_micro import runtime as micro_runtime

    from edge_mnist.data import load_mnist
    from edge_mnist.runtime import Predictor

    data = args.model.read_bytes()
    reference = Interpreter(model_content=data, experimental_op_resolver_type=OpResolverType.BUILTIN_REF, experimental_preserve_all_tensors=True)
    reference.allocate_tensors()
    micro = micro_runtime.Interpreter.from_bytes(data, arena_size=4 << 20, intrepreter_config=micro_runtime.InterpreterConfig.kPreserveAllTensors)
    ops = reference._get_ops_details()
    feed = Predictor(args.model)  # only for its pixel -> int8 lookup table
    images = load_mnist().x_test[: args.limit]
    digits, steps = Counter(), Counter()
    for image in images:
        x = feed._prepare(image[None])
        reference.set_tensor(reference.get_input_details()[0]["index"], x)
        reference.invoke()
        micro.set_input(x, 0)
        micro.invoke()
        for op in ops:
            out = int(op["outputs"][0])
            a = reference.get_tensor(out).astype(np.int64)
            b = micro.GetTensor(out, 0)["tensor_data"].astype(np.int64).reshape(a.shape)
            diff = int(np.abs(a - b).max())
            if diff:
                digits[(op["index"], op["op_name"])] += 1
                steps[(op["index"], op["op_name"], diff)] += 1
    print(f"{args.model.name}: {len(images)} test digits, {len(ops)} operators")
    for (index, name) in sorted({k[:2] for k in steps} | {(op["index"], op["op_name"]) for op in ops}):
        by_size = {d: n for (i, _, d), n in steps.items() if i == index}
        print(f"  op {index:>2} {name:<18} differs on {digits[(index, name)]:>5} digits" + (f" (max steps: count {dict(sorted(by_size.items()))})" if by_size else ""))


if __name__ == "__main__":
    main()
