#!/usr/bin/env bash
# The system tools the test suite drives for real, installed from Debian's packages when missing:
#   sshd + ssh-keygen (openssh-server, openssh-client): the loopback "board" of tests/test_remote.py
#   chromium: the headless browser of tests/camera/test_serve.py
# Idempotent: a tool already on the machine is left alone. Needs root (or sudo) only to install.
# The tests fail, naming this script, when a tool is still missing: CI must exercise them.
set -euo pipefail

missing=()
command -v ssh >/dev/null && command -v scp >/dev/null && command -v ssh-keygen >/dev/null || missing+=(openssh-client)
[ -x /usr/sbin/sshd ] || command -v sshd >/dev/null || missing+=(openssh-server)
command -v chromium >/dev/null || command -v chromium-browser >/dev/null || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ]; then SUDO=(); elif command -v sudo >/dev/null; then SUDO=(sudo -n); else
    echo "test tools missing (${missing[*]}) and not root: apt-get install ${missing[*]}" >&2; exit 1
fi
echo "installing test tools: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# A fresh machine's package lists may be empty or stale: refresh once, then install.
"${SUDO[@]}" apt-get update -qq >&2
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
