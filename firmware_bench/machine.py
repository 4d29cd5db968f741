"""Which machine a benchmark ran on: enough to tell a Pi 4 from a Pi 5 from a desktop, no dependencies."""
from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

PI_MODEL = Path("/proc/device-tree/model")
THERMAL = Path("/sys/class/thermal")
GOVERNOR = Path("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")
# A board this hot (degrees C) is about to throttle or already does: its timings are not its best.
HOT_C = 80.0
# Bits of `vcgencmd get_throttled` (Raspberry Pi firmware): now, and since boot.
THROTTLE_BITS = {
    0: "under-voltage now", 1: "frequency capped now", 2: "throttled now", 3: "soft temperature limit now",
    16: "under-voltage since boot", 17: "frequency capped since boot", 18: "throttled since boot", 19: "soft temperature limit since boot",
}
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


def temperature_c(root: Path = THERMAL) -> float | None:
    """The hottest thermal zone in degrees C (the SoC on a Pi), or None where the kernel exposes none."""
    temps = []
    for zone in sorted(root.glob("thermal_zone*")):
        try:
            temps.append(int(_read(zone / "temp")) / 1000)
        except ValueError:
            continue
    return max(temps) if temps else None


def throttled() -> dict | None:
    """`vcgencmd get_throttled` decoded: {"raw": "0x50000", "flags": [...]}; None off a Raspberry Pi."""
    import shutil
    import subprocess

    tool = shutil.which("vcgencmd")
    if tool is None:
        return None
    try:
        done = subprocess.run([tool, "get_throttled"], capture_output=True, text=True, timeout=5)
        raw = done.stdout.strip().partition("=")[2]
        value = int(raw, 16)
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None
    return {"raw": raw, "flags": [text for bit, text in THROTTLE_BITS.items() if value >> bit & 1]}


def warnings(machine: dict) -> list[str]:
    """What makes a machine's timings suspect: hot, throttled now, or under-voltage, in words."""
    found = []
    temp = machine.get("temperature_c")
    if temp is not None and temp >= HOT_C:
        found.append(f"hot: {temp:.0f} C")
    flags = (machine.get("throttled") or {}).get("flags") or []
    now = [f for f in flags if f.endswith("now")]
    if now:
        found.append("throttled: " + ", ".join(now))
    elif flags:
        found.append("was throttled since boot: " + ", ".join(flags))
    return found


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
        "governor": _read(GOVERNOR) or None,
        "temperature_c": temperature_c(),
        "throttled": throttled(),
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
