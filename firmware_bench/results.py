"""What the bench measures, as data: one `BenchResult` per (model, threads), gathered in a `BenchReport`.

Their JSON form (`to_json` / `from_json`) is the schema `bench --json` writes and `bench --compare`
and the benchmark document read. Reports come from other machines, so `from_json` checks every
field it reads and refuses a report that is not one, naming what is wrong.
"""
from __future__ import annotations

import types
import typing
from dataclasses import MISSING, asdict, dataclass, fields, is_dataclass

from edge_mnist.errors import EdgeMnistError

SCHEMA = "edge-mnist-bench/1"


@dataclass(frozen=True)
class ColdStart:
    """Milliseconds from nothing to the first answer, on a fresh interpreter (no inference before it)."""

    load: float  # read the file, build the interpreter, allocate tensors
    first_inference: float  # the first predict on that interpreter
    total: float  # load + first_inference
    import_runtime: float | None = None  # importing the runtime library, paid once per process (0 if already imported)


@dataclass(frozen=True)
class Latency:
    """Single-image predict, microseconds, after warm-up."""

    mean: float
    p50: float
    p90: float
    p99: float
    min: float
    runs: int


@dataclass(frozen=True)
class Throughput:
    batch: int
    images_per_s: float


@dataclass(frozen=True)
class Memory:
    """Resident set of the measuring process, bytes."""

    before_load: int
    after_load: int
    peak: int
    growth: int  # peak - before_load


@dataclass(frozen=True)
class Overhead:
    """The predict path against the bare runtime call on the same model and input (ratio of medians)."""

    product_us: float
    bare_us: float
    ratio: float
    bare: str  # "interpreter.invoke" or "session.run"


@dataclass(frozen=True)
class BenchResult:
    model: str  # file name
    path: str
    format: str  # the export registry's name, or "foreign tflite" / "foreign onnx"
    size_bytes: int
    runtime: str
    runtime_version: str
    threads: int | None
    detected: dict  # Predictor.describe(): layout, dtypes, output kind, scaling, assumptions
    accuracy: float  # 0-1, on `test_images` test digits, by this runtime on this device
    correct: int
    test_images: int
    cold_start_ms: ColdStart
    latency_us: Latency
    throughput: Throughput
    memory_bytes: Memory
    overhead: Overhead
    tensorflow_imported: bool  # the device-side promise, checked in the process that measured
    tflm: dict | None = None  # TensorFlow Lite Micro only: measured arena_bytes, kernels, what the timing is
    process: str = "child"  # "child" (one fresh process per measurement) or "in-process"

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data) -> "BenchResult":
        return _build(cls, data, "result")


@dataclass(frozen=True)
class BenchReport:
    machine: dict  # firmware_bench.machine.machine_info()
    settings: dict  # Settings.to_json() of the run, with its thread counts and data path
    results: list[BenchResult]
    schema: str = SCHEMA
    measured_at: str | None = None  # UTC, ISO 8601

    def to_json(self) -> dict:
        return {
            "schema": self.schema,
            "measured_at": self.measured_at,
            "machine": self.machine,
            "settings": self.settings,
            "results": [r.to_json() for r in self.results],
        }

    @classmethod
    def from_json(cls, data) -> "BenchReport":
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            raise EdgeMnistError(f"not a bench JSON report (expected schema {SCHEMA})")
        if not isinstance(data.get("results"), list):
            raise EdgeMnistError("not a bench JSON report (no results list)")
        results = [BenchResult.from_json(r) for r in data["results"]]
        machine, settings = _checked(data.get("machine"), dict, "machine"), _checked(data.get("settings"), dict, "settings")
        return cls(machine, settings, results, measured_at=_checked(data.get("measured_at"), str | None, "measured_at"))


def _build(cls, data, where: str):
    """A dataclass from its JSON object, nested dataclasses included, every field's type checked."""
    if not isinstance(data, dict):
        raise EdgeMnistError(f"not a bench JSON report ({where} is not an object)")
    hints = typing.get_type_hints(cls)
    values = {}
    for f in fields(cls):
        if f.name not in data:
            if f.default is MISSING:
                raise EdgeMnistError(f"not a bench JSON report ({where} has no {f.name!r})")
            continue
        hint, value = hints[f.name], data[f.name]
        values[f.name] = _build(hint, value, f"{where}.{f.name}") if is_dataclass(hint) else _checked(value, hint, f"{where}.{f.name}")
    return cls(**values)


def _checked(value, hint, where: str):
    allowed = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    allowed = tuple(type(None) if a is None else a for a in allowed)
    if float in allowed:
        allowed += (int,)  # JSON writes 2.0 as 2
    if isinstance(value, bool) and bool not in allowed or not isinstance(value, allowed):
        raise EdgeMnistError(f"not a bench JSON report ({where} is {type(value).__name__})")
    return value
