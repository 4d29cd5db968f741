#!/usr/bin/env bash
# Run the device side (python3.11 + numpy + ai-edge-litert + onnxruntime, no TensorFlow) under
# qemu-aarch64, so the Raspberry Pi path is exercised on an x86 machine.
#
#   scripts/aarch64_env.sh setup             # build the cached environment (once, ~1-2 min, ~350 MB)
#   scripts/aarch64_env.sh run ARGS...       # python3.11 -S -P ARGS... emulated; edge_mnist from this checkout
#
# The environment is cached in $EDGE_MNIST_AARCH64_CACHE (default ~/.cache/edge-mnist-aarch64).
# Exit code 77 means the tools or packages could not be fetched (tests skip on it, with the reason).
# CPU: $EDGE_MNIST_AARCH64_CPU, default cortex-a72 (a Pi 4). Never qemu's default `max`: it
# advertises SME and ai-edge-litert then computes wrong int8 results.
set -euo pipefail

CACHE=${EDGE_MNIST_AARCH64_CACHE:-$HOME/.cache/edge-mnist-aarch64}
CPU=${EDGE_MNIST_AARCH64_CPU:-cortex-a72}
ROOT=$CACHE/root
APT=$CACHE/apt
# Any host Python with pip; it only downloads wheels for another platform.
HOST_PYTHON=${EDGE_MNIST_HOST_PYTHON:-python3}
REPO=$(cd "$(dirname "$0")/.." && pwd)
# Only the device side: edge-mnist's base dependencies and the [pi] runtimes, never TensorFlow.
# Pin the desktop's runtime versions (scripts/aarch64_check.py does) to compare outputs bit for bit.
WHEELS=${EDGE_MNIST_AARCH64_WHEELS:-"ai-edge-litert onnxruntime numpy click tqdm"}
# One site per wheel set, so changing a pin never reuses a stale one.
SITE=$CACHE/site-$(echo "$WHEELS" | sha1sum | cut -c1-12)

die_unavailable() { echo "aarch64 emulation unavailable: $*" >&2; exit 77; }

setup_qemu() {
    command -v qemu-aarch64-static >/dev/null && return
    [ "$(id -u)" = 0 ] || die_unavailable "qemu-user-static is not installed and we are not root to apt-get it"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user-static; } >&2 \
        || die_unavailable "apt-get install qemu-user-static failed"
}

setup_root() {
    [ -f "$ROOT/.done" ] && return
    mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$APT/debs" "$ROOT/proc"
    : > "$APT/status"
    local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    cat > "$APT/sources.list" <<EOF
deb [arch=arm64 signed-by=$keyring] http://deb.debian.org/debian bookworm main
deb [arch=arm64 signed-by=$keyring] http://deb.debian.org/debian bookworm-updates main
deb [arch=arm64 signed-by=$keyring] http://deb.debian.org/debian-security bookworm-security main
EOF
    # A private apt: its own lists, cache and an empty dpkg status, so `-s install` lists the whole
    # dependency closure and nothing touches the host's package state.
    local opts=(-o APT::Architecture=arm64 -o APT::Architectures=arm64
        -o Dir::Etc::SourceList="$APT/sources.list" -o Dir::Etc::SourceParts="$APT/none"
        -o Dir::State::Lists="$APT/lists" -o Dir::Cache="$APT/cache" -o Dir::State::Status="$APT/status"
        -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
    apt-get "${opts[@]}" update -qq >&2 || die_unavailable "apt-get update for arm64 failed"
    local pkgs
    pkgs=$(apt-get "${opts[@]}" -s install --no-install-recommends python3.11:arm64 libstdc++6:arm64 libgomp1:arm64 \
        | awk '/^Inst /{print $2}') || die_unavailable "cannot resolve python3.11:arm64"
    (cd "$APT/debs" && apt-get "${opts[@]}" download $pkgs >&2) || die_unavailable "apt-get download of arm64 debs failed"
    for deb in "$APT"/debs/*.deb; do dpkg -x "$deb" "$ROOT"; done
    # qemu 7.2 passes the host's /proc/cpuinfo through; LiteRT and onnxruntime crash parsing an
    # x86 one. `-L ROOT` redirects the open to this Raspberry Pi 4 style file.
    {
        for i in 0 1 2 3; do
            printf 'processor\t: %d\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\n' "$i"
            printf 'CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n\n'
        done
        printf 'Revision\t: c03114\nSerial\t\t: 0000000000000000\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n'
    } > "$ROOT/proc/cpuinfo"
    touch "$ROOT/.done"
}

# Every manylinux tag bookworm's glibc 2.36 accepts: ai-edge-litert 2.x ships newer tags than 2_28.
platform_tags() {
    echo --platform manylinux2014_aarch64
    for v in 17 24 26 27 28 29 30 31 32 33 34 35 36; do echo --platform "manylinux_2_${v}_aarch64"; done
}

setup_site() {
    [ -f "$SITE/.done" ] && return
    rm -rf "$SITE"
    "$HOST_PYTHON" -m pip install --quiet --only-binary=:all: --python-version 3.11 --implementation cp --abi cp311 \
        $(platform_tags) \
        --target "$SITE" $WHEELS >&2 || die_unavailable "pip could not fetch aarch64 wheels ($WHEELS)"
    touch "$SITE/.done"
}

# edge_mnist from this checkout, laid out as the wheel installs it (export/ and firmware_bench/
# under edge_mnist), copied fresh on every run since the source changes.
stage_package() {
    local dest=$CACHE/src
    rm -rf "$dest" && mkdir -p "$dest"
    cp -r "$REPO/edge_mnist" "$dest/edge_mnist"
    cp -r "$REPO/export" "$dest/edge_mnist/export"
    cp -r "$REPO/firmware_bench" "$dest/edge_mnist/firmware_bench"
    find "$dest" -name __pycache__ -prune -exec rm -rf {} +
    echo "$dest"
}

setup() {
    setup_qemu
    setup_root
    setup_site
}

case "${1:-}" in
    setup)
        setup
        echo "root=$ROOT site=$SITE cpu=$CPU"
        ;;
    run)
        shift
        setup
        src=$(stage_package)
        # The host's OpenBLAS tuning would make numpy's aarch64 OpenBLAS pick generic kernels.
        # EDGE_MNIST_EMULATED labels the bench report: these timings are never a Pi's.
        # -S: no site-packages, so nothing from the host's own Python 3.11 leaks in past -L.
        # -P: no current folder on sys.path, so a checkout's edge_mnist/ never shadows the staged one.
        exec env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE -u PYTHONHOME \
            PYTHONPATH="$src:$SITE" PYTHONNOUSERSITE=1 EDGE_MNIST_EMULATED="qemu-aarch64 -cpu $CPU" \
            qemu-aarch64-static -cpu "$CPU" -L "$ROOT" "$ROOT/usr/bin/python3.11" -S -P "$@"
        ;;
    *)
        sed -n '2,12p' "$0" >&2
        exit 2
        ;;
esac
