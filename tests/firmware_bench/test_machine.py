"""firmware_bench.machine: which machine a report comes from, from /proc text, with emulation labelled."""
import platform

from edge_mnist.firmware_bench.machine import EMULATED_ENV, cpu_model, machine_info, ram_bytes

PI4_CPUINFO = "processor\t: 0\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU implementer\t: 0x41\nCPU part\t: 0xd08\n\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n"
X86_CPUINFO = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\n"


def test_cpu_model_reads_x86_and_names_arm_parts():
    assert cpu_model(X86_CPUINFO) == "Intel(R) Xeon(R) CPU @ 2.20GHz"
    assert cpu_model(PI4_CPUINFO) == "Cortex-A72"
    assert cpu_model(PI4_CPUINFO.replace("0xd08", "0xd0b")) == "Cortex-A76"
    assert cpu_model(PI4_CPUINFO.replace("0xd08", "0xd99")) == "ARM part 0xd99"


def test_ram_bytes_from_meminfo():
    assert ram_bytes("MemTotal:        8000000 kB\nMemFree: 1 kB\n") == 8000000 * 1024
    assert ram_bytes("") is None


def test_machine_info_describes_this_machine(monkeypatch):
    monkeypatch.delenv(EMULATED_ENV, raising=False)
    info = machine_info({"ai-edge-litert": "2.3.0"})
    assert info["arch"] == platform.machine() and info["cores"] >= 1 and info["ram_bytes"] > 0
    assert info["runtimes"] == {"ai-edge-litert": "2.3.0"} and info["emulated"] is None
    assert info["os"] and info["python"] and info["numpy"]


def test_an_emulated_run_is_never_labelled_as_a_device(monkeypatch):
    monkeypatch.setenv(EMULATED_ENV, "qemu-aarch64 -cpu cortex-a72")
    info = machine_info()
    assert info["device"] == f"emulated {platform.machine()} (qemu-aarch64 -cpu cortex-a72)"
    assert info["emulated"] == "qemu-aarch64 -cpu cortex-a72"


def test_temperature_is_the_hottest_thermal_zone(tmp_path):
    from edge_mnist.firmware_bench.machine import temperature_c

    assert temperature_c(tmp_path) is None  # a machine that exposes none
    for zone, milli in (("thermal_zone0", "48312\n"), ("thermal_zone1", "61500\n"), ("thermal_zone2", "garbage\n")):
        (tmp_path / zone).mkdir()
        (tmp_path / zone / "temp").write_text(milli)
    assert temperature_c(tmp_path) == 61.5


def test_throttled_decodes_vcgencmd(tmp_path, monkeypatch):
    from edge_mnist.firmware_bench import machine

    tool = tmp_path / "vcgencmd"
    tool.write_text("#!/bin/sh\necho throttled=0x50005\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    found = machine.throttled()
    assert found["raw"] == "0x50005"
    assert found["flags"] == ["under-voltage now", "throttled now", "under-voltage since boot", "throttled since boot"]
    monkeypatch.setenv("PATH", str(tmp_path / "none"))
    assert machine.throttled() is None  # not a Raspberry Pi


def test_a_hot_or_throttled_machine_gets_warnings():
    from edge_mnist.firmware_bench.machine import warnings

    assert warnings({"temperature_c": 55.0, "throttled": {"raw": "0x0", "flags": []}}) == []
    assert warnings({}) == []  # an older report, without the fields
    assert warnings({"temperature_c": 83.4}) == ["hot: 83 C"]
    assert warnings({"throttled": {"raw": "0x20002", "flags": ["frequency capped now", "frequency capped since boot"]}}) == [
        "throttled: frequency capped now"
    ]
    assert warnings({"throttled": {"raw": "0x50000", "flags": ["under-voltage since boot", "throttled since boot"]}}) == [
        "was throttled since boot: under-voltage since boot, throttled since boot"
    ]


def test_machine_info_carries_governor_temperature_and_throttling(monkeypatch):
    monkeypatch.delenv(EMULATED_ENV, raising=False)
    info = machine_info()
    assert {"governor", "temperature_c", "throttled"} <= set(info)
