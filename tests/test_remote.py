"""edge_mnist.remote and its commands against a real OpenSSH server on 127.0.0.1 (tests/conftest.py's
`ssh_server`): the "board" is this machine's Python, deployed into a temporary folder.

deploy -> a second deploy copies nothing -> bench --on prints the board beside the desktop ->
camera --on serves the page through the tunnel (headless Chromium) and Ctrl-C leaves nothing
running on the board; and each fault is one line and exit code 2.
"""
import json
import platform
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edge_mnist.errors import RemoteError
from edge_mnist.remote import Board, Target, build_wheel, device_requirements, model_files, ssh_failure

TIMEOUT = 600  # every child command of these tests is bounded


def edge_mnist(*args, cwd=None, timeout=TIMEOUT) -> subprocess.CompletedProcess:
    """The real command line, in a child, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "edge_mnist", *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=timeout)


def one_line_error(done: subprocess.CompletedProcess, *needles: str) -> str:
    """Exit code 2 and one `Error:` line saying what went wrong."""
    assert done.returncode == 2, (done.returncode, done.stdout[-1500:], done.stderr[-3000:])
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "Traceback" not in done.stderr, done.stderr[-3000:]
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


# --------------------------------------------------------------------------------------------
# Pieces, no server needed
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("stderr, says", [
    ("ssh: Could not resolve hostname pi5: Name or service not known", "unknown host"),
    ("ssh: connect to host 10.0.0.9 port 22: Connection refused", "connection refused"),
    ("pi@10.0.0.9: Permission denied (publickey,password).", "authentication refused"),
    ("ssh: connect to host 10.0.0.9 port 22: Connection timed out", "timed out"),
    ("Host key verification failed.", "host key verification failed"),
    ("Connection to 10.0.0.9 closed by remote host.", "connection dropped"),
    ("Timeout, server 10.0.0.9 not responding.", "connection dropped"),
    ("something new", "ssh failed: something new"),
])
def test_ssh_failures_become_one_line(stderr, says):
    message = ssh_failure("pi5", "debug noise\n" + stderr)
    assert message.startswith("pi5: ") and says in message and "\n" not in message


def test_a_host_that_looks_like_an_option_is_refused():
    for bad in ("-oProxyCommand=touch x", "", "two words"):
        with pytest.raises(RemoteError, match="not a host name"):
            Target(bad)


def test_platform_tags_for_pip_follow_the_boards_glibc():
    board = Board("pi", "/home/pi/edge-mnist", (3, 11, 2), "aarch64", "Debian 12", "glibc 2.36", "Raspberry Pi 5 Model B Rev 1.0")
    tags = board.platform_tags()
    assert tags[0] == "manylinux_2_36_aarch64" and "manylinux_2_17_aarch64" in tags and "manylinux2014_aarch64" in tags
    assert tags[-1] == "linux_aarch64" and not any("2_16" in t for t in tags)
    assert Board("pi", "/x", (3, 11, 2), "armv7l", "?", "", "").platform_tags() == ["linux_armv7l"]


def test_model_files_pick_presets_and_refuse_what_is_missing(tmp_path):
    for rel in ("mlp/mlp.int8.tflite", "mlp/mlp.keras", "cnn/cnn.float32.onnx", "cnn/history.json"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    assert sorted(model_files(tmp_path)) == ["artifacts/cnn/cnn.float32.onnx", "artifacts/mlp/mlp.int8.tflite"]
    assert list(model_files(tmp_path, ["mlp"])) == ["artifacts/mlp/mlp.int8.tflite"]
    with pytest.raises(RemoteError, match="no exported model for edge"):
        model_files(tmp_path, ["mlp", "edge"])
    with pytest.raises(RemoteError, match="no artifacts folder"):
        model_files(tmp_path / "nowhere")


@pytest.mark.slow
def test_the_wheel_is_the_same_bytes_from_the_same_source(tmp_path):
    """What lets a second deploy recognise the wheel on the board by its sha256 and copy nothing."""
    first, second = build_wheel(tmp_path / "a"), build_wheel(tmp_path / "b")
    assert first.name == second.name and first.read_bytes() == second.read_bytes()
    requirements = device_requirements(first)
    assert any(r.startswith("numpy") for r in requirements) and any(r.startswith("ai-edge-litert") for r in requirements)
    assert not any(r.startswith(("tensorflow", "keras", "tf2onnx")) for r in requirements), "the device side never pulls TensorFlow"


# --------------------------------------------------------------------------------------------
# Against the loopback server
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def desk(tiny_exports, tmp_path_factory) -> Path:
    """The desktop's working folder: artifacts/ as `edge-mnist pipeline` lays it out."""
    desk = tmp_path_factory.mktemp("desk")
    (desk / "artifacts" / "cnn").mkdir(parents=True)
    shutil.copy(tiny_exports["tflite-int8"], desk / "artifacts" / "cnn" / "cnn.int8.tflite")
    return desk


@pytest.fixture(scope="module")
def deployed(ssh_server, desk, tmp_path_factory):
    """One real `edge-mnist deploy board`: wheel built here, venv on the board, edge-mnist[pi] installed from the index."""
    board_dir = tmp_path_factory.mktemp("board") / "edge-mnist"
    done = edge_mnist("deploy", "board", "--ssh-config", ssh_server.config, "--dir", board_dir, cwd=desk)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    return board_dir, done


def remote(ssh_server, board_dir) -> list[str]:
    return ["--ssh-config", str(ssh_server.config), "--dir", str(board_dir)]


@pytest.mark.slow
def test_deploy_installs_the_device_side_and_a_second_run_copies_nothing(ssh_server, desk, deployed):
    board_dir, first = deployed
    assert re.search(r"board: copied 2 files \(\d+\.\d MB\), 0 unchanged; installed edge-mnist\[pi\]; no TensorFlow there", first.stdout), first.stdout
    assert re.search(rf"board: .+, {platform.machine()}, Python 3\.\d+\.\d+, deploy folder ", first.stderr), first.stderr  # what was detected on the board
    venv_python = board_dir / "venv" / "bin" / "python"
    assert (board_dir / "artifacts" / "cnn" / "cnn.int8.tflite").read_bytes() == (desk / "artifacts" / "cnn" / "cnn.int8.tflite").read_bytes()
    check = subprocess.run([venv_python, "-c", "import importlib.util as u, edge_mnist, ai_edge_litert, cv2; print(u.find_spec('tensorflow'))"],
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0 and check.stdout.strip() == "None", check.stderr[-2000:]
    assert json.loads((board_dir / "deployed.json").read_text())["extras"] == "pi"

    again = edge_mnist("deploy", "board", *remote(ssh_server, board_dir), cwd=desk)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "board: up to date, nothing copied (2 files unchanged), nothing installed" in again.stdout, again.stdout + again.stderr

    # One new model: only it travels, and nothing is reinstalled.
    extra = desk / "artifacts" / "cnn" / "cnn.copy.tflite"
    shutil.copy(desk / "artifacts" / "cnn" / "cnn.int8.tflite", extra)
    try:
        third = edge_mnist("deploy", "board", *remote(ssh_server, board_dir), cwd=desk)
    finally:
        extra.unlink()
    assert third.returncode == 0 and "board: copied 1 files" in third.stdout and "2 unchanged; already installed" in third.stdout, third.stdout
    # ...and once gone here, it goes from the board too: bench --on never measures a stale model.
    fourth = edge_mnist("deploy", "board", *remote(ssh_server, board_dir), cwd=desk)
    assert fourth.returncode == 0 and "board: copied 0 files (0.0 MB), 2 unchanged, 1 stale removed; already installed" in fourth.stdout, fourth.stdout
    assert not (board_dir / "artifacts" / "cnn" / "cnn.copy.tflite").exists()


@pytest.mark.slow
def test_bench_on_a_board_prints_it_beside_the_desktop(ssh_server, desk, deployed, tmp_path):
    board_dir, _ = deployed
    reports = tmp_path / "reports"
    done = edge_mnist("bench", "--on", "board", *remote(ssh_server, board_dir), "--runs", 10, "--limit", 300, "--threads", 1,
                      "--reports", reports, "--chart", tmp_path / "chart.png", cwd=desk)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert "board: bench artifacts/cnn/cnn.int8.tflite threads=1" in done.stderr  # the board's progress, live
    assert re.search(r"board acc\s.*p50 us", done.stdout) and "desktop " in done.stdout, done.stdout
    row = next(line for line in done.stdout.splitlines() if line.startswith("cnn.int8.tflite"))
    accuracies = re.findall(r"\d+\.\d\d%", row)
    assert len(accuracies) == 2 and accuracies[0] == accuracies[1], row  # same model, same digits: the same answers
    board, desktop = (json.loads((reports / name).read_text()) for name in ("board.json", "desktop.json"))
    assert board["machine"]["ssh_host"] == "board" and board["results"][0]["test_images"] == 300
    assert board["results"][0]["correct"] == desktop["results"][0]["correct"] and not board["results"][0]["tensorflow_imported"]
    assert {"governor", "temperature_c", "throttled"} <= set(board["machine"])  # the fingerprint's new fields, None where not exposed
    assert (tmp_path / "chart.png").stat().st_size > 0
    assert sorted(p.name for p in reports.iterdir()) == ["board.json", "desktop.json"]


def _interrupted_bench(ssh_server, desk, board_dir, reports: Path, interrupt) -> subprocess.CompletedProcess:
    """A long `bench --on board`, interrupted by `interrupt(process)` once the board's bench is measuring."""
    command = [sys.executable, "-m", "edge_mnist", "bench", "--on", "board", *remote(ssh_server, board_dir), "--runs", "5000", "--threads", "1",
               "--reports", str(reports), "--chart", str(reports.parent / "chart.png")]
    process = subprocess.Popen(command, cwd=desk, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_serve_helpers().as_from_a_terminal)
    try:
        seen = ""
        deadline = time.monotonic() + 120
        while "board: bench artifacts" not in seen and time.monotonic() < deadline and process.poll() is None:
            seen += process.stderr.readline()
        assert "board: bench artifacts" in seen, seen
        time.sleep(1)  # well inside the measurement
        interrupt(process)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    deadline = time.monotonic() + 20
    while ssh_server.descendants() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not ssh_server.descendants(), "the board's bench did not stop"
    assert not reports.exists() or not any(reports.iterdir()), list(reports.iterdir())
    return subprocess.CompletedProcess(command, process.returncode, stdout, seen + stderr)


@pytest.mark.slow
def test_killing_the_server_during_a_bench_leaves_no_report(ssh_server, desk, deployed, tmp_path):
    board_dir, _ = deployed
    done = _interrupted_bench(ssh_server, desk, board_dir, tmp_path / "reports", lambda _: ssh_server.kill_connections())
    one_line_error(done, "board: connection dropped")


@pytest.mark.slow
def test_ctrl_c_during_a_bench_stops_it_on_the_board(ssh_server, desk, deployed, tmp_path):
    board_dir, _ = deployed
    done = _interrupted_bench(ssh_server, desk, board_dir, tmp_path / "reports", lambda process: process.send_signal(signal.SIGINT))
    assert done.returncode == 130 and "stopped by Ctrl-C: the bench on board is stopped, no report written for it" in done.stderr, done.stderr[-2000:]


@pytest.mark.slow
def test_camera_on_a_board_serves_the_page_through_the_tunnel(ssh_server, deployed, still_video, chromium, tmp_path):
    camera_serve = _serve_helpers()
    board_dir, _ = deployed
    process, url, lines = camera_serve.start_reader(["camera", "--on", "board", *remote(ssh_server, board_dir), "--source", str(still_video), "--loop"])
    try:
        assert url.startswith("http://127.0.0.1:")
        # the reader itself, not the watcher (python3 -c WATCH) that started it
        board_cameras = [pid for pid in ssh_server.descendants() if b"edge-mnist\x00camera" in _cmdline(pid) and b"\x00-c\x00" not in _cmdline(pid)]
        assert len(board_cameras) == 1, "one reader runs on the board"
        reading = camera_serve.check_page(url, chromium, tmp_path / "chromium")
        assert reading["model"] == "cnn.int8.tflite"  # the board's default: artifacts/cnn/cnn.int8.tflite, deployed
    finally:
        code = camera_serve.ctrl_c(process, 60)
    assert code == 130, "".join(lines)[-3000:]
    assert any("stopped: the reader on board and the tunnel are closed" in line for line in lines), lines
    deadline = time.monotonic() + 20
    while ssh_server.descendants() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not ssh_server.descendants(), "a process was left running on the board"


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _serve_helpers():
    """tests/camera/test_serve.py's reader and page checks (one definition for the local and the tunnelled view)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("camera_test_serve", Path(__file__).parent / "camera" / "test_serve.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------------------------
# Faults: one line, exit code 2
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("host, says", [
    ("closed", "closed: connection refused"),
    ("stranger", "stranger: authentication refused"),
    ("nopython", "nopython: no python3 on the board"),
    ("no-such-board.invalid", "no-such-board.invalid: unknown host"),
])
def test_deploy_faults_are_one_line(ssh_server, host, says, tmp_path):
    (tmp_path / "artifacts" / "mlp").mkdir(parents=True)
    (tmp_path / "artifacts" / "mlp" / "mlp.int8.tflite").write_bytes(b"not built: deploy fails before it reads models")
    done = edge_mnist("deploy", host, "--ssh-config", ssh_server.config, "--dir", tmp_path / "board", "--connect-timeout", 5, cwd=tmp_path)
    one_line_error(done, says)


@pytest.mark.parametrize("host, says", [("closed", "connection refused"), ("stranger", "authentication refused"), ("nopython", "no python3")])
def test_bench_and_camera_faults_are_one_line(ssh_server, host, says, tmp_path):
    one_line_error(edge_mnist("bench", "--on", host, "--ssh-config", ssh_server.config, "--reports", tmp_path / "r", cwd=tmp_path), f"{host}: {says}")
    assert not (tmp_path / "r").exists()
    one_line_error(edge_mnist("camera", "--on", host, "--ssh-config", ssh_server.config, cwd=tmp_path), f"{host}: {says}")


def test_a_board_with_nothing_deployed_says_what_to_run(ssh_server, tmp_path):
    done = edge_mnist("bench", "--on", "board", "--ssh-config", ssh_server.config, "--dir", tmp_path / "empty", cwd=tmp_path)
    one_line_error(done, "board: nothing deployed", "edge-mnist deploy board")


@pytest.mark.slow
def test_offline_deploy_installs_from_wheels_downloaded_here(ssh_server, desk, tmp_path):
    """--offline: the board's pip never reaches an index; the wheels for its platform come from this machine."""
    board_dir = tmp_path / "offline-board"
    first = edge_mnist("deploy", "board", "--offline", *remote(ssh_server, board_dir), cwd=desk)
    assert first.returncode == 0, first.stdout + first.stderr[-3000:]
    assert "board: downloading the device's wheels for manylinux_" in first.stderr and "installed edge-mnist[pi] offline" in first.stdout
    wheels = sorted(p.name for p in (board_dir / "wheels").iterdir())
    assert any(w.startswith("onnxruntime-") for w in wheels) and any(w.startswith("ai_edge_litert-") for w in wheels)
    assert not any(w.lower().startswith(("tensorflow", "keras")) for w in wheels), wheels
    assert json.loads((board_dir / "deployed.json").read_text())["offline"] is True
    again = edge_mnist("deploy", "board", "--offline", *remote(ssh_server, board_dir), cwd=desk)
    assert again.returncode == 0 and f"up to date, nothing copied ({len(wheels) + 2} files unchanged), nothing installed" in again.stdout, again.stdout


@pytest.mark.slow
def test_deploy_refuses_a_board_where_tensorflow_is_importable(ssh_server, desk, deployed):
    board_dir, _ = deployed
    site = next((board_dir / "venv" / "lib").glob("python3*/site-packages"))
    fake = site / "tensorflow"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    try:
        done = edge_mnist("deploy", "board", *remote(ssh_server, board_dir), cwd=desk)
    finally:
        shutil.rmtree(fake)
    one_line_error(done, "board: TensorFlow is importable in", "the device side must run without it")


@pytest.mark.parametrize("python, has_venv, says", [
    ((3, 9, 2), True, "pi: Python 3.9.2 is too old, edge-mnist needs 3.11 or newer"),
    ((3, 11, 2), False, "pi: the board's python3 cannot create virtual environments: sudo apt install python3-venv"),
])
def test_deploy_refuses_a_board_it_cannot_serve(monkeypatch, tmp_path, python, has_venv, says):
    from edge_mnist import remote

    board = Board("pi", "/home/pi/edge-mnist", python, "aarch64", "Raspbian GNU/Linux 11", "glibc 2.31", "Raspberry Pi 4 Model B", has_venv=has_venv)
    monkeypatch.setattr(remote, "probe", lambda *args, **kwargs: board)
    with pytest.raises(RemoteError) as caught:
        remote.deploy(Target("pi"), tmp_path / "edge_mnist-0.1.0-py3-none-any.whl", {})
    assert str(caught.value) == says
