"""Drive Raspberry Pi boards from the desktop over the system's OpenSSH client.

Everything goes through `ssh` and `scp` as the user runs them, so ~/.ssh/config, keys, the agent
and jump hosts work as they already do; only batch mode (never a password prompt) and timeouts are
added. Small Python scripts run on the board through `python3 -`, so the board needs nothing but
python3 (with venv) and an SSH server. Functions here return data; `edge_mnist.remote_cli` prints.

On the board, everything lives under one folder (default ~/edge-mnist):
    dist/edge_mnist-*.whl   the wheel built from this checkout
    wheels/                 --offline: the device's dependency wheels, downloaded on the desktop
    artifacts/<model>/      the exported models (.tflite, .onnx), as under the desktop's artifacts/
    venv/                   python3 -m venv --system-site-packages, with edge-mnist[pi] installed
    deployed.json           what venv/ was installed from, so an unchanged deploy installs nothing
"""
from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from edge_mnist.errors import RemoteError
from edge_mnist.files import sha256, write_atomic

DEFAULT_DIR = "~/edge-mnist"
MODEL_SUFFIXES = (".tflite", ".onnx")
# The board needs what pyproject's requires-python says.
MIN_PYTHON = (3, 11)
# A fixed zip timestamp for every entry of the wheel: the same source gives the same bytes, so an
# unchanged checkout is recognised on the board by its sha256 and not copied again.
WHEEL_EPOCH = "315532800"  # 1980-01-01, the earliest a zip can record

Echo = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


# --------------------------------------------------------------------------------------------
# Transport
# --------------------------------------------------------------------------------------------
def ssh_failure(host: str, stderr: str) -> str:
    """ssh's exit-255 chatter as one line saying what went wrong and what to check."""
    text = stderr.strip()
    low = text.lower()
    checks = (
        ("could not resolve hostname", "unknown host (ssh could not resolve the name; check it, or add a Host entry to ~/.ssh/config)"),
        ("connection refused", "connection refused (no SSH server listening there: check the host and port, and that sshd runs on the board)"),
        ("permission denied", "authentication refused (the board did not accept your key: ssh-copy-id it, or set IdentityFile in ~/.ssh/config)"),
        ("host key verification failed", "host key verification failed (unknown or changed host key: connect once with plain ssh to check and accept it)"),
        ("address already in use", "the local port for the forwarded view is taken (choose another with --port)"),
        ("timed out", "connection timed out (board off, asleep, or on another network?)"),
        ("no route to host", "no route to host (board off, or on another network?)"),
        ("network is unreachable", "network is unreachable"),
        ("closed by remote host", "connection dropped (the board closed it: rebooted, lost power or network?)"),
        ("connection closed", "connection dropped (closed before the command finished)"),
        ("connection reset", "connection dropped (reset)"),
        ("broken pipe", "connection dropped (broken pipe)"),
        ("timeout, server", "connection dropped (the board stopped answering)"),
    )
    for needle, message in checks:
        if needle in low:
            return f"{host}: {message}"
    last = text.splitlines()[-1] if text else "ssh failed with no message"
    return f"{host}: ssh failed: {last}"


@dataclass(frozen=True)
class Target:
    """One board as ssh knows it: a name from ~/.ssh/config, user@host, or an address."""

    host: str
    ssh_config: Path | None = None
    connect_timeout: int = 10

    def __post_init__(self):
        if not self.host or self.host.startswith("-") or any(c.isspace() for c in self.host):
            raise RemoteError(f"not a host name: {self.host!r}")

    def options(self) -> list[str]:
        options = ["-o", "BatchMode=yes", "-o", f"ConnectTimeout={self.connect_timeout}", "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3"]
        return (["-F", str(self.ssh_config)] if self.ssh_config else []) + options

    def ssh_args(self, command: str, extra: tuple[str, ...] = ()) -> list[str]:
        return ["ssh", *self.options(), *extra, self.host, command]

    def run(self, command: str, input: bytes | None = None, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
        """Run a shell command on the board; an ssh failure (exit 255) raises RemoteError in one line."""
        try:
            done = subprocess.run(self.ssh_args(command), input=input, capture_output=True, timeout=timeout)
        except FileNotFoundError:
            raise RemoteError("the OpenSSH client (ssh) is not installed here: sudo apt install openssh-client") from None
        except subprocess.TimeoutExpired:
            raise RemoteError(f"{self.host}: no answer within {timeout:.0f} s") from None
        if done.returncode == 255:
            raise RemoteError(ssh_failure(self.host, done.stderr.decode(errors="replace")))
        if check and done.returncode != 0:
            raise RemoteError(_command_failure(self.host, done.returncode, done.stderr.decode(errors="replace")))
        return done

    def python(self, script: str, *args: str, python: str = "python3", timeout: float = 120) -> dict:
        """Run `script` with the board's Python (sent on stdin), return the JSON its last stdout line prints."""
        done = self.run(" ".join(shlex.quote(a) for a in [python, "-", *args]), input=script.encode(), timeout=timeout)
        try:
            return json.loads(done.stdout.decode().strip().splitlines()[-1])
        except (IndexError, ValueError):
            raise RemoteError(f"{self.host}: unexpected answer from the board's Python: {done.stdout[:200]!r}") from None

    def put(self, files: list[Path], remote_dir: str, timeout: float = 1800) -> None:
        """Copy files into one folder on the board (scp, so the user's ssh settings apply)."""
        if not files:
            return
        command = ["scp", "-q", "-p", *self.options(), *map(str, files), f"{self.host}:{remote_dir}/"]
        try:
            done = subprocess.run(command, capture_output=True, timeout=timeout)
        except FileNotFoundError:
            raise RemoteError("scp is not installed here: sudo apt install openssh-client") from None
        except subprocess.TimeoutExpired:
            raise RemoteError(f"{self.host}: copying {len(files)} files took longer than {timeout:.0f} s") from None
        if done.returncode != 0:
            stderr = done.stderr.decode(errors="replace")
            if "lost connection" in stderr.lower():
                raise RemoteError(f"{self.host}: connection dropped while copying")
            if done.returncode == 255:
                raise RemoteError(ssh_failure(self.host, stderr))
            lines = [line for line in stderr.strip().splitlines() if line.strip()] or ["no message"]
            raise RemoteError(f"{self.host}: copying to {remote_dir} failed: {lines[-1][:300]}")


def _command_failure(host: str, code: int, stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    if code == 127 and any("python" in line and "not found" in line for line in lines):
        return f"{host}: no python3 on the board (install it there: sudo apt install python3 python3-venv)"
    return f"{host}: command failed with exit code {code}: {lines[-1][:300] if lines else 'no message'}"


# --------------------------------------------------------------------------------------------
# The board
# --------------------------------------------------------------------------------------------
# Runs on the board's Python (any 3.x): where things are, what is there, what the board is.
PROBE = r'''
import hashlib, json, os, platform, socket, sys
root = os.path.abspath(os.path.expanduser(sys.argv[1]))
want_hashes = sys.argv[2] == "1"
def digest(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()
files = {}
if want_hashes:
    for sub in ("dist", "wheels", "artifacts"):
        for d, _, names in os.walk(os.path.join(root, sub)):
            for n in names:
                p = os.path.join(d, n)
                files[os.path.relpath(p, root)] = digest(p)
try:
    libc = os.confstr("CS_GNU_LIBC_VERSION") or ""
except (AttributeError, ValueError, OSError):
    libc = ""
os_name = platform.system() + " " + platform.release()
try:
    for line in open("/etc/os-release"):
        if line.startswith("PRETTY_NAME="):
            os_name = line.split("=", 1)[1].strip().strip('"')
except OSError:
    pass
try:
    model = open("/proc/device-tree/model", "rb").read().rstrip(b"\0\n").decode("utf-8", "replace")
except OSError:
    model = ""
try:
    deployed = json.load(open(os.path.join(root, "deployed.json")))
except (OSError, ValueError):
    deployed = None
port = None
if len(sys.argv) > 3 and sys.argv[3] == "port":
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
try:
    import venv, ensurepip
    has_venv = True
except ImportError:
    has_venv = False
print(json.dumps({
    "root": root, "python": list(sys.version_info[:3]), "executable": sys.executable, "machine": platform.machine(),
    "system": platform.system(), "os": os_name, "libc": libc, "model": model, "node": platform.node(),
    "files": files, "deployed": deployed, "venv": os.path.isfile(os.path.join(root, "venv", "bin", "python")),
    "has_venv": has_venv, "free_port": port,
}))
'''


@dataclass
class Board:
    host: str
    root: str  # the deploy folder, absolute, on the board
    python: tuple[int, int, int]
    machine: str  # aarch64, armv7l, x86_64
    os: str
    libc: str  # "glibc 2.36", or "" (musl, other)
    model: str  # /proc/device-tree/model, "" off a Pi
    files: dict[str, str] = field(default_factory=dict)  # path under root -> sha256
    deployed: dict | None = None
    venv: bool = False
    has_venv: bool = True
    free_port: int | None = None

    def describe(self) -> str:
        what = self.model or self.os
        return f"{what}, {self.machine}, Python {'.'.join(map(str, self.python))}"

    def platform_tags(self) -> list[str]:
        """pip's --platform tags for this board's wheels: manylinux for its glibc and older, then plain linux."""
        arch = self.machine
        tags = []
        if self.libc.startswith("glibc "):
            try:
                major, minor = (int(x) for x in self.libc.split()[1].split(".")[:2])
            except ValueError:
                major, minor = 0, 0
            if major == 2:
                tags += [f"manylinux_2_{m}_{arch}" for m in range(minor, 16, -1)]
                if minor >= 17:
                    tags.append(f"manylinux2014_{arch}")
        return tags + [f"linux_{arch}"]


def probe(target: Target, remote_dir: str = DEFAULT_DIR, hashes: bool = False, free_port: bool = False) -> Board:
    """One ssh call: the board's Python, architecture, OS, and (with `hashes`) what is already deployed."""
    info = target.python(PROBE, remote_dir, "1" if hashes else "0", "port" if free_port else "-")
    return Board(
        host=target.host, root=info["root"], python=tuple(info["python"]), machine=info["machine"], os=info["os"], libc=info["libc"],
        model=info["model"], files=info["files"], deployed=info["deployed"], venv=info["venv"], has_venv=info["has_venv"], free_port=info["free_port"],
    )


# --------------------------------------------------------------------------------------------
# Deploy
# --------------------------------------------------------------------------------------------
def source_tree() -> Path:
    """This checkout (the folder with pyproject.toml), which `deploy` builds its wheel from."""
    root = Path(__file__).resolve().parents[1]
    if not (root / "pyproject.toml").is_file():
        raise RemoteError(f"deploy builds the wheel from the edge-mnist source checkout, and {root} is not one: run it from a git clone (pip install -e .)")
    return root


# What the wheel is built from (pyproject.toml's packages and readme), copied clean: a stale
# build/ folder in the checkout can never slip an old module into the board's install.
WHEEL_SOURCES = ("pyproject.toml", "README.md", "edge_mnist", "export", "firmware_bench")


def build_wheel(out_dir: Path, timeout: float = 600) -> Path:
    """This project's wheel, built locally with pip; the same source always gives the same bytes."""
    import shutil

    out_dir.mkdir(parents=True, exist_ok=True)
    tree, src = source_tree(), out_dir / ".source"
    shutil.rmtree(src, ignore_errors=True)
    for name in WHEEL_SOURCES:
        if (tree / name).is_dir():
            shutil.copytree(tree / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
        else:
            src.mkdir(parents=True, exist_ok=True)
            shutil.copy2(tree / name, src / name)
    env = {**os.environ, "SOURCE_DATE_EPOCH": WHEEL_EPOCH}
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out_dir), str(src)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise RemoteError(f"building the edge-mnist wheel took longer than {timeout:.0f} s") from None
    shutil.rmtree(src, ignore_errors=True)
    wheels = sorted(out_dir.glob("edge_mnist-*.whl"))
    if done.returncode != 0 or not wheels:
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip() and not line.lstrip().startswith(("hint:", "note:", "╰", "×", "[end"))]
        errors = [line for line in lines if "Error" in line or line.startswith("error")]
        raise RemoteError(f"building the edge-mnist wheel failed: {(errors or lines or ['no message'])[0][:300]}")
    return wheels[-1]


def device_requirements(wheel: Path) -> list[str]:
    """The wheel's own requirements for edge-mnist[pi]: the base ones and the `pi` extra's."""
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = zf.read(name).decode()
    requirements = []
    for line in metadata.splitlines():
        if not line.startswith("Requires-Dist:"):
            continue
        spec, _, marker = line.split(":", 1)[1].partition(";")
        marker = marker.strip().replace("'", '"')
        if not marker or marker == 'extra == "pi"':
            requirements.append(spec.strip())
    return requirements


def download_wheels(board: Board, wheel: Path, cache: Path, timeout: float = 1800) -> list[Path]:
    """--offline: the device's dependency wheels for the board's Python and platform, fetched here.

    Kept in `cache` (one folder per Python and platform), so a second deploy reuses the same files.
    """
    major, minor = board.python[:2]
    tags = board.platform_tags()
    folder = cache / f"cp{major}{minor}-{tags[0]}"
    folder.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--only-binary=:all:", "--implementation", "cp",
               "--python-version", f"{major}.{minor}", "--abi", f"cp{major}{minor}", "--abi", "abi3", "--abi", "none",
               "-d", str(folder)]
    for tag in tags:
        command += ["--platform", tag]
    command += device_requirements(wheel)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RemoteError(f"downloading the wheels for {board.host} took longer than {timeout:.0f} s") from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.startswith("ERROR")] or done.stderr.strip().splitlines() or ["no message"]
        raise RemoteError(f"{board.host}: no wheels for its platform ({tags[0]}, Python {major}.{minor}): {lines[0][:300]}")
    # Only what pip resolved this time ("Saved X" or "File was already downloaded X"): the cache
    # folder can hold older versions too, which the board does not need.
    resolved = {Path(line.rsplit(" ", 1)[-1]).name for line in done.stdout.splitlines() if line.strip().startswith(("Saved ", "File was already downloaded "))}
    wheels = sorted(p for p in folder.glob("*.whl") if p.name in resolved)
    if not wheels:
        raise RemoteError(f"{board.host}: pip download named no wheel for {tags[0]} (pip's output changed?): {done.stdout.strip().splitlines()[-1:]}")
    return wheels


def model_files(artifacts: Path, models: list[str] | None = None) -> dict[str, Path]:
    """The device's models under `artifacts` ("artifacts/<model>/<file>" -> path); `models` picks presets (folders)."""
    if not artifacts.is_dir():
        raise RemoteError(f"no artifacts folder at {artifacts}: run `edge-mnist pipeline` first, or pass --artifacts")
    found = {}
    for path in sorted(artifacts.rglob("*")):
        rel = path.relative_to(artifacts)
        if path.is_file() and path.suffix.lower() in MODEL_SUFFIXES and (not models or rel.parts[0] in models):
            found[f"artifacts/{rel.as_posix()}"] = path
    if models:
        missing = [m for m in models if not any(key.split("/")[1] == m for key in found)]
        if missing:
            raise RemoteError(f"no exported model for {', '.join(missing)} under {artifacts}/ (run `edge-mnist pipeline --models {','.join(missing)}`)")
    if not found:
        raise RemoteError(f"no .tflite or .onnx model under {artifacts}/: run `edge-mnist pipeline` first")
    return found


VERIFY = r'''
import hashlib, json, os, sys
root, want = sys.argv[1], json.loads(sys.stdin.readline())
bad = []
for rel, expected in want.items():
    h = hashlib.sha256()
    try:
        with open(os.path.join(root, rel), "rb") as f:
            for b in iter(lambda: f.read(1 << 20), b""):
                h.update(b)
    except OSError:
        bad.append(rel)
        continue
    if h.hexdigest() != expected:
        bad.append(rel)
print(json.dumps({"bad": bad}))
'''

REMOVE = r'''
import json, os, sys
root = os.path.realpath(sys.argv[1])
for rel in json.loads(sys.stdin.readline()):
    path = os.path.realpath(os.path.join(root, rel))
    if path.startswith(root + os.sep) and rel.split("/")[0] in ("dist", "wheels", "artifacts"):
        os.remove(path)
'''

# Installed into the board's venv: no TensorFlow may be importable there, the device side's promise.
TF_CHECK = "import importlib.util, sys; sys.exit(3 if importlib.util.find_spec('tensorflow') else 0)"


@dataclass
class DeployResult:
    host: str
    board: str  # Board.describe()
    root: str
    copied: list[str]
    copied_bytes: int
    unchanged: list[str]
    installed: bool
    offline: bool
    removed: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return dict(self.__dict__)


def deploy(target: Target, wheel: Path, artifacts: dict[str, Path], remote_dir: str = DEFAULT_DIR, offline: bool = False,
           wheel_cache: Path | None = None, echo: Echo = _quiet, timeout: float = 1800) -> DeployResult:
    """Bring one board up to date: copy what changed (checked by sha256 there), install edge-mnist[pi] if needed."""
    board = probe(target, remote_dir, hashes=True)
    echo(f"{target.host}: {board.describe()}, deploy folder {board.root}")
    if board.python[:2] < MIN_PYTHON:
        raise RemoteError(f"{target.host}: Python {'.'.join(map(str, board.python))} is too old, edge-mnist needs {'.'.join(map(str, MIN_PYTHON))} or newer")
    if not board.has_venv:
        raise RemoteError(f"{target.host}: the board's python3 cannot create virtual environments: sudo apt install python3-venv")
    wanted = {f"dist/{wheel.name}": wheel, **artifacts}
    if offline:
        cache = wheel_cache or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "edge-mnist" / "device-wheels"
        echo(f"{target.host}: downloading the device's wheels for {board.platform_tags()[0]}, Python {board.python[0]}.{board.python[1]}")
        wanted.update({f"wheels/{p.name}": p for p in download_wheels(board, wheel, cache)})
    digests = {rel: sha256(path) for rel, path in wanted.items()}
    changed = [rel for rel in wanted if board.files.get(rel) != digests[rel]]
    unchanged = [rel for rel in wanted if rel not in changed]
    if changed:
        size = sum(wanted[rel].stat().st_size for rel in changed)
        echo(f"{target.host}: copying {len(changed)} files ({size / 2**20:.1f} MB), {len(unchanged)} unchanged")
        folders: dict[str, list[Path]] = {}
        for rel in changed:
            folders.setdefault(os.path.dirname(rel), []).append(wanted[rel])
        target.run("mkdir -p " + " ".join(shlex.quote(f"{board.root}/{d}") for d in folders))
        for folder, files in folders.items():
            target.put(files, f"{board.root}/{folder}", timeout=timeout)
    else:
        size = 0
    # Check every file, not only the ones just copied: the board's copy is what will run.
    result = target.run(" ".join(map(shlex.quote, ["python3", "-c", VERIFY, board.root])), input=(json.dumps(digests) + "\n").encode(), timeout=timeout)
    bad = json.loads(result.stdout.decode().strip().splitlines()[-1])["bad"]
    if bad:
        raise RemoteError(f"{target.host}: sha256 mismatch on the board for {', '.join(bad[:3])}{' ...' if len(bad) > 3 else ''} (disk full? run deploy again)")
    # The board holds what this deploy sent: a model removed here (or an old wheel) goes there too,
    # so `bench --on` never measures a stale file.
    stale = sorted(rel for rel in board.files if rel not in wanted)
    if stale:
        echo(f"{target.host}: removing {len(stale)} files this deploy does not send: {', '.join(stale[:3])}{' ...' if len(stale) > 3 else ''}")
        target.run(" ".join(map(shlex.quote, ["python3", "-c", REMOVE, board.root])), input=(json.dumps(stale) + "\n").encode())
    state = {"wheel": f"dist/{wheel.name}", "wheel_sha256": digests[f"dist/{wheel.name}"], "extras": "pi", "offline": offline,
             "wheels": sorted(rel for rel in wanted if rel.startswith("wheels/"))}
    installed = False
    if not board.venv or board.deployed != state:
        echo(f"{target.host}: installing edge-mnist[pi] into {board.root}/venv" + (" from the copied wheels (offline)" if offline else ""))
        _install(target, board, wheel.name, offline, timeout)
        installed = True
        target.run("cat > " + shlex.quote(f"{board.root}/deployed.json"), input=json.dumps(state).encode())
    _check_no_tensorflow(target, board)
    return DeployResult(target.host, board.describe(), board.root, changed, size, unchanged, installed, offline, stale)


def _install(target: Target, board: Board, wheel_name: str, offline: bool, timeout: float) -> None:
    root = board.root
    venv_python = shlex.quote(f"{root}/venv/bin/python")
    wheel = shlex.quote(f"{root}/dist/{wheel_name}")
    source = f"--no-index --find-links {shlex.quote(root + '/wheels')}" if offline else ""
    steps = [
        f"cd {shlex.quote(root)}",
        # system site packages: picamera2 comes from apt (python3-picamera2), not from pip
        f"{{ [ -x venv/bin/python ] || python3 -m venv --system-site-packages venv; }}",
        f"{venv_python} -m pip install --quiet --disable-pip-version-check {source} {shlex.quote(f'{root}/dist/{wheel_name}[pi]')}",
        # same version number, new build: replace the package itself, keep the dependencies
        f"{venv_python} -m pip install --quiet --disable-pip-version-check --no-deps --force-reinstall {source} {wheel}",
    ]
    done = target.run(" && ".join(steps), timeout=timeout, check=False)
    if done.returncode != 0:
        lines = [line for line in done.stderr.decode(errors="replace").splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("ERROR")] or lines or ["no message"]
        hint = " (no internet on the board? use --offline)" if not offline and any("network" in l.lower() or "connection" in l.lower() or "resolve" in l.lower() for l in lines) else ""
        raise RemoteError(f"{target.host}: installing edge-mnist[pi] failed: {errors[0][:300]}{hint}")


def _check_no_tensorflow(target: Target, board: Board) -> None:
    done = target.run(" ".join(map(shlex.quote, [f"{board.root}/venv/bin/python", "-c", TF_CHECK])), check=False)
    if done.returncode == 3:
        raise RemoteError(f"{target.host}: TensorFlow is importable in {board.root}/venv (from the system site packages?); "
                          "the device side must run without it: uninstall it there")
    if done.returncode != 0:
        raise RemoteError(_command_failure(target.host, done.returncode, done.stderr.decode(errors="replace")))


# --------------------------------------------------------------------------------------------
# Bench on the board
# --------------------------------------------------------------------------------------------
def _deployed(target: Target, remote_dir: str, free_port: bool = False) -> Board:
    board = probe(target, remote_dir, free_port=free_port)
    if not board.venv or not board.deployed:
        raise RemoteError(f"{target.host}: nothing deployed in {board.root}: run `edge-mnist deploy {target.host}` first")
    return board


def _stream(process: subprocess.Popen, on_line: Echo, keep: list[str]) -> threading.Thread:
    """Read a child's stderr line by line in a thread: each line to `on_line`, the last ones kept."""

    def pump():
        for raw in process.stderr:
            line = raw.decode(errors="replace").rstrip()
            if line:
                keep.append(line)
                del keep[:-50]
                on_line(line)

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return thread


def remote_bench(target: Target, bench_args: list[str], out: Path, remote_dir: str = DEFAULT_DIR, echo: Echo = _quiet, timeout: float = 7200) -> dict:
    """Run `edge-mnist bench` on the board on its deployed models; save its report at `out`, return it as JSON.

    The report comes back on the ssh connection's stdout only when the bench has finished, and is
    written here under a temporary name and renamed: a run interrupted halfway leaves no file.
    """
    from edge_mnist.firmware_bench.results import BenchReport

    board = _deployed(target, remote_dir)
    report = ".bench-on-board.json"
    bench = ["venv/bin/edge-mnist", "bench", *bench_args, "--json", report]
    # Under the watcher (see WATCH): if this end goes away (Ctrl-C, a dropped link), the board's bench stops too.
    command = (f"cd {shlex.quote(board.root)} && rm -f {report} && "
               f"python3 -c {shlex.quote(WATCH)} {' '.join(map(shlex.quote, bench))} >&2 && cat {report}")
    process = subprocess.Popen(target.ssh_args(command), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    tail: list[str] = []
    pump = _stream(process, lambda line: echo(f"{target.host}: {line}") if line.startswith("bench ") else None, tail)
    chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: chunks.append(process.stdout.read()), daemon=True)
    reader.start()
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
        raise RemoteError(f"{target.host}: the bench took longer than {timeout:.0f} s; stopped") from None
    except KeyboardInterrupt:
        process.kill()  # the board's watcher sees its stdin close and stops the bench; nothing is written here
        process.wait(10)
        raise
    finally:
        if process.stdin:
            process.stdin.close()
    reader.join(30)
    pump.join(30)
    stderr = "\n".join(tail)
    if code == 255:
        raise RemoteError(ssh_failure(target.host, stderr))
    if code != 0:
        raise RemoteError(_command_failure(target.host, code, stderr).replace("command failed", "bench failed"))
    try:
        data = json.loads(b"".join(chunks))
    except ValueError:
        raise RemoteError(f"{target.host}: the bench report did not arrive whole (connection dropped?)") from None
    data["machine"]["ssh_host"] = target.host
    BenchReport.from_json(data)  # refuse anything that is not a report before it lands on disk
    write_atomic(out, (json.dumps(data, indent=2) + "\n").encode())
    return data


# --------------------------------------------------------------------------------------------
# Camera on the board, watched through an SSH tunnel
# --------------------------------------------------------------------------------------------
# Runs on the board: the camera as a child; when our stdin closes (the desktop's ssh went away:
# Ctrl-C there, or the connection dropped), the camera gets SIGINT, so no reader is left behind.
WATCH = r'''
import os, signal, subprocess, sys, threading
child = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL)
sys.stderr.write("board pid %d\n" % child.pid)
sys.stderr.flush()
def watch():
    try:
        sys.stdin.buffer.read()
    except Exception:
        pass
    if child.poll() is None:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
threading.Thread(target=watch, daemon=True).start()
code = child.wait()
sys.stdout.flush()
sys.stderr.flush()
os._exit(code if code >= 0 else 128 - code)  # not sys.exit: the watching thread is blocked reading stdin
'''


def free_local_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RemoteCamera:
    """A camera reader running on a board, its live view forwarded to `url` on this machine."""

    host: str
    url: str
    board_pid: int | None
    process: subprocess.Popen
    log: list[str]

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 15) -> int:
        """Close our end: the board's watcher stops the camera, then ssh exits. Returns ssh's exit code."""
        if self.process.stdin and not self.process.stdin.closed:
            try:
                self.process.stdin.close()
            except OSError:
                pass
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.terminate()
            try:
                return self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                return self.process.wait(5)


def start_camera(target: Target, camera_args: list[str], remote_dir: str = DEFAULT_DIR, local_port: int = 0, echo: Echo = _quiet,
                 timeout: float = 60) -> RemoteCamera:
    """Start `edge-mnist camera` on the board, serving its view on the board's 127.0.0.1, and forward it here."""
    board = _deployed(target, remote_dir, free_port=True)
    port = local_port or free_local_port()
    camera = ["venv/bin/edge-mnist", "camera", *camera_args, "--serve", f"127.0.0.1:{board.free_port}", "--jsonl", "", "--headless"]
    command = f"cd {shlex.quote(board.root)} && exec python3 -c {shlex.quote(WATCH)} {' '.join(map(shlex.quote, camera))}"
    forward = ("-o", "ExitOnForwardFailure=yes", "-L", f"127.0.0.1:{port}:127.0.0.1:{board.free_port}")
    # Its own session: a Ctrl-C in the terminal reaches us, and we stop the board's end in order.
    process = subprocess.Popen(target.ssh_args(command, forward), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               start_new_session=True)
    log: list[str] = []
    _stream(process, lambda line: echo(f"{target.host}: {line}"), log)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stderr = "\n".join(log)
            if process.returncode == 255:
                raise RemoteError(ssh_failure(target.host, stderr))
            raise RemoteError(_command_failure(target.host, process.returncode, stderr).replace("command failed", "camera stopped"))
        if any(line.startswith("live view:") for line in log) and _answers(url):
            pid = next((int(line.split()[-1]) for line in log if line.startswith("board pid ")), None)
            return RemoteCamera(target.host, url, pid, process, log)
        time.sleep(0.2)
    RemoteCamera(target.host, url, None, process, log).stop()
    raise RemoteError(f"{target.host}: the camera's live view did not come up within {timeout:.0f} s: {log[-1] if log else 'no message'}")


def _answers(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False
