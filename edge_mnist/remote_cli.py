"""`edge-mnist deploy`: put the device side and the exported models on Raspberry Pi boards over SSH."""
from __future__ import annotations

import tempfile
from pathlib import Path

import click

from edge_mnist.remote import DEFAULT_DIR

ssh_config_option = click.option(
    "--ssh-config", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
    help="An ssh_config file, passed to ssh and scp as -F [default: ssh's own, ~/.ssh/config].",
)
dir_option = click.option("--dir", "remote_dir", default=DEFAULT_DIR, show_default=True, help="The deploy folder on the board.")
timeout_option = click.option("--connect-timeout", type=click.IntRange(1), default=10, show_default=True, help="Seconds ssh waits for a board to answer.")


@click.command()
@click.argument("hosts", nargs=-1, required=True)
@click.option("--artifacts", type=click.Path(path_type=Path, file_okay=False), default=Path("artifacts"), show_default=True,
              help="The exported models to copy (its .tflite and .onnx files).")
@click.option("--models", default=None, help="Comma-separated presets (folders under --artifacts) [default: all].")
@click.option("--offline", is_flag=True, help="The boards have no internet: download their wheels here (for their Python and platform) and install from those.")
@ssh_config_option
@dir_option
@timeout_option
def deploy(hosts, artifacts, models, offline, ssh_config, remote_dir, connect_timeout):
    """Install the device side and copy the models to each HOST (an ~/.ssh/config name, user@host or address).

    Builds this checkout's wheel, detects each board's Python, architecture and OS, copies the wheel
    and the models (checked by sha256 on the board), creates a venv there with system site packages
    (picamera2 from apt stays visible), installs edge-mnist[pi] and checks TensorFlow is not
    importable in it. A second run copies and installs only what changed.
    """
    from edge_mnist.errors import RemoteError
    from edge_mnist.remote import Target, build_wheel, deploy as deploy_one, model_files, probe

    files = model_files(artifacts, [m.strip() for m in models.split(",") if m.strip()] if models else None)
    echo = lambda text: click.echo(text, err=True)  # noqa: E731
    targets, failures = [], []
    for host in hosts:  # a board that cannot be reached is reported before anything is built
        target = Target(host, ssh_config, connect_timeout)
        try:
            probe(target, remote_dir)
            targets.append(target)
        except RemoteError as exc:
            failures.append(str(exc))
            if len(hosts) > 1:
                click.echo(f"FAILED {exc}", err=True)
    with tempfile.TemporaryDirectory(prefix="edge-mnist-wheel-") as tmp:
        if targets:
            echo("building the edge-mnist wheel")
            wheel = build_wheel(Path(tmp))
        for target in targets:
            try:
                result = deploy_one(target, wheel, files, remote_dir, offline=offline, echo=echo)
            except RemoteError as exc:
                failures.append(str(exc))
                if len(hosts) > 1:
                    click.echo(f"FAILED {exc}", err=True)
                continue
            if result.copied or result.installed or result.removed:
                copied = f"copied {len(result.copied)} files ({result.copied_bytes / 2**20:.1f} MB), {len(result.unchanged)} unchanged"
                installed = "; installed edge-mnist[pi]" + (" offline" if offline else "") if result.installed else "; already installed"
                removed = f", {len(result.removed)} stale removed" if result.removed else ""
                click.echo(f"{target.host}: {copied}{removed}{installed}; no TensorFlow there; ready in {result.root}")
            else:  # removing a stale file alone changes nothing that runs
                click.echo(f"{target.host}: up to date, nothing copied ({len(result.unchanged)} files unchanged), nothing installed; ready in {result.root}")
    if failures:
        raise RemoteError(failures[0] if len(failures) == 1 else f"{len(failures)} of {len(hosts)} boards failed; first: {failures[0]}")
