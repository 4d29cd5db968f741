"""One benchmark of one model on one runtime: cold start, latency, throughput, accuracy, memory, overhead.

Runs in whatever process calls it; the CLI gives each measurement its own child process (worker.py)
so the memory figures are that model's alone.
"""
from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from edge_mnist.firmware_bench.results import BenchResult, ColdStart, Latency, Memory, Overhead, Throughput
from edge_mnist.runtime import Predictor, Runtime, Scaling, import_runtime


@dataclass(frozen=True)
class Settings:
    runtime: Runtime | None = None
    threads: int | None = None
    scaling: Scaling | None = None  # None: infer from the model, else assume 0-1 and say so
    runs: int = 300  # timed single-image inferences
    warmup: int = 30
    batch: int = 64  # throughput batch, where the model's batch axis is dynamic
    limit: int | None = None  # only the first N test images (accuracy and throughput); None: all 10,000

    def to_json(self) -> dict:
        return {**asdict(self), "runtime": self.runtime and self.runtime.value, "scaling": self.scaling and self.scaling.value}

    @classmethod
    def from_json(cls, data: dict) -> "Settings":
        runtime, scaling = data.get("runtime"), data.get("scaling")
        return replace(cls(**data), runtime=Runtime(runtime) if runtime else None, scaling=Scaling(scaling) if scaling else None)


def memory() -> dict[str, int]:
    """Current and peak resident set of this process in bytes (VmRSS, VmHWM), 0 where /proc lacks them."""
    fields = {"VmRSS": 0, "VmHWM": 0}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in fields:
                fields[key] = int(value.split()[0]) * 1024
    except OSError:
        import resource

        fields["VmHWM"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"rss": fields["VmRSS"], "peak": fields["VmHWM"]}


def percentiles_us(seconds: list[float]) -> Latency:
    us = np.asarray(seconds) * 1e6
    p50, p90, p99 = np.percentile(us, [50, 90, 99])
    return Latency(mean=float(us.mean()), p50=float(p50), p90=float(p90), p99=float(p99), min=float(us.min()), runs=len(us))


def format_name(path: Path) -> str:
    """The export registry's name for files this tool made; 'foreign tflite'/'foreign onnx' for anything else."""
    from edge_mnist.errors import FormatError
    from edge_mnist.export.formats import format_of

    try:
        return format_of(path).name
    except FormatError:
        return f"foreign {path.suffix.lstrip('.').lower()}"


def bench_model(path, x: np.ndarray, y: np.ndarray, settings: Settings = Settings(), outputs: Path | None = None) -> BenchResult:
    """Benchmark one model. `outputs` saves the raw (N, 10) scores as .npy."""
    path = Path(path)
    x, y = x[: settings.limit], y[: settings.limit]
    fmt = format_name(path)
    # A file this tool exported takes pixel / 255 like every edge-mnist model: nothing to assume.
    ours = not fmt.startswith("foreign")
    scaling = settings.scaling or (Scaling.UNIT if ours else None)
    before = memory()
    clock = time.perf_counter
    start = clock()
    import_runtime(path, settings.runtime)  # a fresh process pays this once, before any model
    imported = clock()
    predictor = Predictor(path, runtime=settings.runtime, threads=settings.threads, scaling=scaling)
    loaded = clock()
    predictor.predict(x[:1])  # the interpreter's very first inference: loading ran none
    first = clock()
    after_load = memory()
    cold = ColdStart(
        load=(loaded - imported) * 1e3, first_inference=(first - loaded) * 1e3, total=(first - imported) * 1e3, import_runtime=(imported - start) * 1e3
    )

    latencies = _single_image_latencies(predictor, x, settings)

    batch = settings.batch if predictor.layout.dynamic_batch else 1
    start_all = clock()
    scores = predictor.predict(x, batch_size=batch)
    seconds_all = clock() - start_all
    end = memory()
    if outputs:
        np.save(outputs, scores, allow_pickle=False)
    predicted = scores.argmax(axis=1)

    return BenchResult(
        model=path.name,
        path=str(path),
        format=fmt,
        size_bytes=path.stat().st_size,
        runtime=predictor.runtime.value,
        runtime_version=predictor.runtime_version,
        threads=settings.threads,
        detected=predictor.describe(),
        accuracy=float((predicted == y).mean()),
        correct=int((predicted == y).sum()),
        test_images=len(y),
        cold_start_ms=cold,
        latency_us=percentiles_us(latencies),
        throughput=Throughput(batch=batch, images_per_s=len(x) / seconds_all),
        memory_bytes=Memory(before_load=before["rss"], after_load=after_load["rss"], peak=end["peak"], growth=end["peak"] - before["rss"]),
        overhead=overhead(predictor, x, settings.runs),
        tensorflow_imported="tensorflow" in sys.modules,
        tflm=_micro(predictor),
    )


def _micro(predictor: Predictor) -> dict | None:
    if predictor.runtime is not Runtime.TFLITE_MICRO:
        return None
    return {
        "arena_bytes": predictor.arena_bytes,
        "kernels": "reference",
        "timing": "this desktop running TensorFlow Lite Micro's reference kernels through its Python interpreter, not a microcontroller",
    }


def _single_image_latencies(predictor: Predictor, x: np.ndarray, settings: Settings) -> list[float]:
    n = len(x)
    for i in range(settings.warmup):
        predictor.predict(x[i % n : i % n + 1])
    times = []
    clock = time.perf_counter
    for i in range(settings.runs):
        image = x[i % n : i % n + 1]
        t0 = clock()
        predictor.predict(image)
        times.append(clock() - t0)
    return times


def overhead(predictor: Predictor, x: np.ndarray, runs: int) -> Overhead:
    """The product's predict path against the bare runtime call on the same model and input, single image.

    Interleaved in blocks so machine noise hits both alike; the ratio of medians is the figure.
    """
    bare = predictor.bare_call(x[:1])
    product, raw = [], []
    clock = time.perf_counter
    image = x[:1]
    for _ in range(max(runs // 50, 2)):
        for _ in range(50):
            t0 = clock()
            predictor.predict(image)
            product.append(clock() - t0)
        for _ in range(50):
            t0 = clock()
            bare()
            raw.append(clock() - t0)
    product_us, bare_us = float(np.median(product) * 1e6), float(np.median(raw) * 1e6)
    return Overhead(product_us=product_us, bare_us=bare_us, ratio=product_us / bare_us, bare=_bare_name(predictor))


def _bare_name(predictor: Predictor) -> str:
    return "session.run" if predictor.runtime is Runtime.ONNXRUNTIME else "interpreter.invoke"
