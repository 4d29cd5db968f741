"""Session fixtures: the real MNIST, and tiny real models trained once on slices of it."""
import os
from pathlib import Path

import pytest

# Keep TensorFlow's start-up chatter out of test logs.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TRAIN_SLICE = 3000


@pytest.fixture(scope="session")
def mnist():
    from edge_mnist.data import load_mnist

    return load_mnist()


@pytest.fixture(scope="session")
def tiny_models(mnist, tmp_path_factory) -> dict[str, Path]:
    """`.keras` files of the mlp and cnn presets, one epoch on a slice of the training split."""
    from edge_mnist.models import Preset
    from edge_mnist.training import recipe_for, train

    out = tmp_path_factory.mktemp("tiny_models")
    paths = {}
    for preset in (Preset.MLP, Preset.CNN):
        recipe = recipe_for(preset, epochs=1, batch_size=64)
        result = train(preset, mnist, out / preset.value, recipe=recipe, seed=1, train_limit=TRAIN_SLICE, progress=False)
        paths[preset.value] = Path(result.model_path)
    return paths


@pytest.fixture(scope="session")
def small_edge(mnist, tmp_path_factory) -> Path:
    """`.keras` of the edge preset, two epochs of its recipe on the full training split (about 98%; after
    one, BatchNormalization's moving statistics still lag far behind the weights):
    small enough for TFLite Micro to run all 10,000 test digits in seconds, accurate enough for its gate."""
    from edge_mnist.models import Preset
    from edge_mnist.training import recipe_for, train

    out = tmp_path_factory.mktemp("small_edge")
    return Path(train(Preset.EDGE, mnist, out, recipe=recipe_for(Preset.EDGE, epochs=2), seed=0, progress=False).model_path)


@pytest.fixture(scope="session")
def tiny_exports(mnist, tiny_models, tmp_path_factory) -> dict[str, Path]:
    """The tiny cnn in every TFLite format and as ONNX float, written straight from the registry's exporters."""
    from edge_mnist.export.calibration import representative_images
    from edge_mnist.export.formats import FORMATS
    from edge_mnist.models import load_keras_model

    out = tmp_path_factory.mktemp("tiny_exports")
    model = load_keras_model(tiny_models["cnn"])
    calibration = representative_images(mnist.x_train, mnist.y_train, size=200, seed=0)
    paths = {}
    for name in ("tflite-float32", "tflite-int8", "tflite-uint8", "onnx"):
        fmt = FORMATS[name]
        path = out / f"cnn{fmt.suffix}"
        path.write_bytes(fmt.exporter(model, calibration))
        paths[name] = path
    return paths


@pytest.fixture(scope="session")
def run_isolated():
    """Run Python code in a fresh interpreter (sys.modules starts clean) and return its stdout."""
    import subprocess
    import sys

    def run(code: str) -> str:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    return run


@pytest.fixture(scope="session")
def full_cnn(mnist, tmp_path_factory):
    """The cnn preset trained briefly (2 epochs of the default recipe) on the full training split.

    A real, accurate model (about 99%) for the acceptance, camera and bench tests; made once per session.
    """
    from edge_mnist.models import Preset
    from edge_mnist.training import recipe_for, train

    out = tmp_path_factory.mktemp("full_cnn")
    return train(Preset.CNN, mnist, out, recipe=recipe_for(Preset.CNN, epochs=2), seed=0, progress=False)


@pytest.fixture(scope="session")
def full_cnn_int8(mnist, full_cnn) -> Path:
    """`full_cnn` as a full-integer int8 TFLite file (int8 input and output)."""
    from edge_mnist.export.calibration import representative_images
    from edge_mnist.export.formats import FORMATS
    from edge_mnist.models import load_keras_model

    fmt = FORMATS["tflite-int8"]
    path = Path(full_cnn.model_path).with_name(f"cnn{fmt.suffix}")
    calibration = representative_images(mnist.x_train, mnist.y_train, size=500, seed=0)
    path.write_bytes(fmt.exporter(load_keras_model(full_cnn.model_path), calibration))
    return path


@pytest.fixture(scope="session")
def camera_cnn_int8(mnist, tmp_path_factory) -> Path:
    """The cnn-camera preset trained briefly (3 epochs on a third of the training split, with its
    camera-drawn digits, cut pieces and non-digits), as a full-integer int8 TFLite file."""
    from edge_mnist.export.calibration import representative_images
    from edge_mnist.export.formats import FORMATS
    from edge_mnist.models import Preset, load_keras_model
    from edge_mnist.training import recipe_for, train

    out = tmp_path_factory.mktemp("camera_cnn")
    result = train(Preset.CNN_CAMERA, mnist, out, recipe=recipe_for(Preset.CNN_CAMERA, epochs=3), seed=0, train_limit=20000, progress=False)
    fmt = FORMATS["tflite-int8"]
    path = out / f"cnn-camera{fmt.suffix}"
    calibration = representative_images(mnist.x_train, mnist.y_train, size=500, seed=0)
    path.write_bytes(fmt.exporter(load_keras_model(result.model_path), calibration))
    return path


@pytest.fixture(scope="session")
def small_edge_int8(mnist, small_edge) -> Path:
    """`small_edge` as a full-integer int8 TFLite file (int8 input and output)."""
    from edge_mnist.export.calibration import representative_images
    from edge_mnist.export.formats import FORMATS
    from edge_mnist.models import load_keras_model

    fmt = FORMATS["tflite-int8"]
    path = small_edge.with_name(f"edge{fmt.suffix}")
    calibration = representative_images(mnist.x_train, mnist.y_train, size=500, seed=0)
    path.write_bytes(fmt.exporter(load_keras_model(small_edge), calibration))
    return path


# --------------------------------------------------------------------------------------------
# A real OpenSSH server on 127.0.0.1: the "board" of the remote tests is this machine.
# --------------------------------------------------------------------------------------------
TOOLS_FIX = "run scripts/test_tools.sh (make test does) to install openssh-server, openssh-client and chromium"


def require_tool(*names: str) -> str:
    """The first of `names` on PATH (or an absolute path that exists); FAIL, never skip, when none is:
    CI must run these tests, so a missing tool is a broken test setup."""
    import shutil

    for name in names:
        found = name if os.path.isabs(name) and os.access(name, os.X_OK) else shutil.which(name)
        if found:
            return found
    pytest.fail(f"{' / '.join(names)} not found: {TOOLS_FIX}", pytrace=False)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SshServer:
    """sshd -D on 127.0.0.1 with throwaway keys, and an ssh_config naming its hosts:

    board      this user, the right key: python3 on PATH is this machine's Python (sys._base_executable's)
    nopython   the same server on a second port, where the session's PATH has no python3
    stranger   the right port, a key the server does not accept
    closed     a port nobody listens on
    """

    def __init__(self, folder: Path):
        import getpass
        import subprocess
        import sys

        self.folder = folder
        sshd = require_tool("/usr/sbin/sshd", "sshd")
        keygen = require_tool("ssh-keygen")
        require_tool("ssh")
        require_tool("scp")
        for name in ("host_key", "user_key", "stranger_key"):
            subprocess.run([keygen, "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(folder / name)], check=True, timeout=30)
        (folder / "authorized_keys").write_text((folder / "user_key.pub").read_text())
        self.port, self.nopython_port, self.closed_port = free_port(), free_port(), free_port()
        python_dir = Path(getattr(sys, "_base_executable", sys.executable)).parent
        # Only this machine's Python on the board's PATH: /usr/bin may hold a python3 without venv.
        (folder / "bin").mkdir()
        (folder / "bin" / "python3").symlink_to(Path(getattr(sys, "_base_executable", sys.executable)))
        (folder / "nobin").mkdir()
        root = os.geteuid() == 0
        if root:
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation folder
        (folder / "sshd_config").write_text(
            f"Port {self.port}\nPort {self.nopython_port}\nListenAddress 127.0.0.1\nHostKey {folder}/host_key\nPidFile {folder}/sshd.pid\n"
            f"AuthorizedKeysFile {folder}/authorized_keys\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            f"PubkeyAuthentication yes\nUsePAM no\nStrictModes no\nPermitRootLogin {'prohibit-password' if root else 'no'}\n"
            f"AllowTcpForwarding yes\nSubsystem sftp internal-sftp\nLogLevel ERROR\nMaxStartups 50\nMaxSessions 50\n"
            f"SetEnv PATH={folder}/bin:{python_dir}:/usr/local/bin:/usr/bin:/bin\n"
            # The login shell's rc files may put a Python back on PATH: run the command under a bare sh instead.
            f"Match LocalPort {self.nopython_port}\n  ForceCommand exec /usr/bin/env PATH={folder}/nobin /bin/sh -c \"$SSH_ORIGINAL_COMMAND\"\n"
        )
        host_key = (folder / "host_key.pub").read_text().split()[:2]
        (folder / "known_hosts").write_text(
            "".join(f"[127.0.0.1]:{p} {' '.join(host_key)}\n" for p in (self.port, self.nopython_port, self.closed_port))
        )
        common = (f"  HostName 127.0.0.1\n  User {getpass.getuser()}\n  IdentitiesOnly yes\n  UserKnownHostsFile {folder}/known_hosts\n"
                  "  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n  LogLevel ERROR\n")
        self.config = folder / "ssh_config"
        self.config.write_text(
            f"Host board\n  Port {self.port}\n  IdentityFile {folder}/user_key\n{common}"
            f"Host nopython\n  Port {self.nopython_port}\n  IdentityFile {folder}/user_key\n{common}"
            f"Host stranger\n  Port {self.port}\n  IdentityFile {folder}/stranger_key\n{common}"
            f"Host closed\n  Port {self.closed_port}\n  IdentityFile {folder}/user_key\n{common}"
        )
        self.log = folder / "sshd.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen([sshd, "-D", "-e", "-f", str(folder / "sshd_config")], stdout=log, stderr=log)
        self._wait_listening()

    def _wait_listening(self, timeout: float = 10) -> None:
        import socket
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"sshd exited at start: {self.log.read_text()[-1000:]}", pytrace=False)
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        pytest.fail(f"sshd did not listen on 127.0.0.1:{self.port} within {timeout} s", pytrace=False)

    def descendants(self) -> list[int]:
        """Every process under our sshd: its per-connection children and the sessions' commands."""
        children: dict[int, list[int]] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        found, todo = [], [self.process.pid]
        while todo:
            for child in children.get(todo.pop(), []):
                found.append(child)
                todo.append(child)
        return found

    def kill_connections(self) -> None:
        """What a board losing power looks like: every connection dies at once, no goodbye."""
        import signal

        for pid in self.descendants():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def stop(self) -> None:
        self.kill_connections()
        self.process.terminate()
        try:
            self.process.wait(10)
        except Exception:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture(scope="session")
def ssh_server(tmp_path_factory):
    server = SshServer(tmp_path_factory.mktemp("sshd"))
    yield server
    server.stop()


# --------------------------------------------------------------------------------------------
# The browser view: a steady video to read, and headless Chromium to look at the page
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def still_video(mnist, tmp_path_factory) -> Path:
    """A lossless (FFV1) video of one page of handwritten numbers, held still for 40 frames: whatever
    the reader reads, it reads the same on every frame, so the page and /latest.json can be compared.
    (MJPEG encodes its first frame at another quality: a near tie read differently there, once a loop.)"""
    import numpy as np

    from edge_mnist._deps import require
    from edge_mnist.camera.synth import HEIGHT, WIDTH, write_page

    cv2 = require("cv2")
    picks = lambda label, n: [int(i) for i in (mnist.y_test == label).nonzero()[0][:n]]  # noqa: E731
    scene = write_page(mnist, [[picks(4, 1) + picks(0, 1) + picks(7, 1)], [picks(2, 1) + picks(3, 1), picks(8, 1)]], height=70, pen=7)
    path = tmp_path_factory.mktemp("still_video") / "page.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"FFV1"), 10.0, (WIDTH, HEIGHT))
    for _ in range(40):
        writer.write(scene.image)
    writer.release()
    capture = cv2.VideoCapture(str(path))
    decoded = [capture.read()[1] for _ in range(40)]
    capture.release()
    assert all(frame is not None and np.array_equal(frame, scene.image) for frame in decoded), "the still video must decode to its page on every frame"
    return path


@pytest.fixture(scope="session")
def chromium():
    """Headless Chromium: `chromium(url, folder)` -> (the DOM after the page's scripts ran, a screenshot path)."""
    import subprocess

    binary = require_tool("chromium", "chromium-browser")

    def look(url: str, folder: Path, budget_ms: int = 4000) -> tuple[str, Path]:
        folder.mkdir(parents=True, exist_ok=True)
        flags = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--mute-audio", f"--user-data-dir={folder / 'profile'}",
                 f"--virtual-time-budget={budget_ms}", "--window-size=1000,700"]
        dom = subprocess.run([*flags, "--dump-dom", url], capture_output=True, text=True, timeout=90)
        assert dom.returncode == 0, dom.stderr[-2000:]
        shot = folder / "screenshot.png"
        done = subprocess.run([*flags, f"--screenshot={shot}", url], capture_output=True, text=True, timeout=90)
        assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
        return dom.stdout, shot

    return look
