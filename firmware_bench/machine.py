"""Which machine a benchmark ran on: enough to tell a Pi 4 from a Pi 5 from a desktop, no dependencies."""
from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

PI_MODEL = Path("/proc/device-tree/model")
# Set by scripts/aarch64_env.sh: an emulated CPU is labelled as such, so its timings are never
# mistaken for a Raspberry Pi's (the fake /proc/cpuinfo there looks like a Pi 4's).
EMULATED_ENV = "EDGE_MNIST_EMULATED"


def _read(path: Path) -> str:
    try:
        return path.read_bytes().rstrip(b"\0\n").decode(errors="replace")
    except OSError:
        return ""


def cpu_model(cpuinfo: str) -> str:
    """The CPU name from /proc/cpuinfo text; ARM kernels give only part numbers, so name the usual ones."""
    fields = {}
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    if fields.get("model name"):
        return fields["model name"]
    arm_parts = {"0xd03": "Cortex-A53", "0xd08": "Cortex-A72", "0xd0b": "Cortex-A76"}
    part = fields.get("CPU part", "")
    return arm_parts.get(part, f"ARM part {part}" if part else platform.processor() or platform.machine())


def ram_bytes(meminfo: str) -> int | None:
    for line in meminfo.splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return None


def os_name() -> str:
    for line in _read(Path("/etc/os-release")).splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip('"')
    return f"{platform.system()} {platform.release()}"


def machine_info(runtimes: dict[str, str] | None = None) -> dict:
    """The machine as a JSON-ready dict; `runtimes` maps runtime name -> version."""
    import numpy

    model = _read(PI_MODEL)
    emulated = os.environ.get(EMULATED_ENV) or None
    return {
        "device": f"emulated {platform.machine()} ({emulated})" if emulated else model or platform.node(),
        "pi_model": model or None,
        "emulated": emulated,
        "cpu": cpu_model(_read(Path("/proc/cpuinfo"))),
        "arch": platform.machine(),
        "cores": os.cpu_count(),
        "ram_bytes": ram_bytes(_read(Path("/proc/meminfo"))),
        "os": os_name(),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "numpy": numpy.__version__,
        "runtimes": dict(runtimes or {}),
    }


def stamp(runtimes: dict[str, str] | None = None) -> dict:
    """When, where and under what load a measurement ran: what a results file records beside its figures."""
    from datetime import datetime, timezone

    return {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine_info(runtimes), "load": list(os.getloadavg())}


def stamp_line(record: dict, time: bool = True, load: bool = True) -> str:
    """A results file's stamp in words: "AMD EPYC, 2 cores, 2026-12-02 04:10 UTC, load average 1.20"."""
    machine, date = record["machine"], record["date"]
    when = f"{date[:10]} {date[11:16]} UTC" if time else date[:10]
    load = f", load average {record['load'][0]:.2f}" if load and record.get("load") else ""
    return f"{machine['cpu']}, {machine['cores']} cores, {when}{load}"
