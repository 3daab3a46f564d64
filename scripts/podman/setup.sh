#!/usr/bin/env bash
# Installs what scripts/podman/run.sh needs, from Debian 12: podman 4.3 with
# conmon, catatonit (for `podman run --init`), busybox-static (the image),
# util-linux's script(1) (a pseudo-terminal for `podman run -it`), gcc (the
# subreaper), jq (the seccomp profile). No recommends: no fuse-overlayfs,
# slirp4netns or uidmap, which only rootless podman uses; run.sh runs podman
# as root with the kernel's overlay driver and `--network none`.
# Idempotent: installs only what is missing.
#
# usage: scripts/podman/setup.sh        (as root)
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

if [ "$(id -u)" != 0 ]; then
    echo "podman setup: must run as root" >&2
    exit 1
fi

# shellcheck source=../lib/apt.sh
. "$(dirname "$0")/../lib/apt.sh"
apt_install_missing "podman setup" podman conmon catatonit busybox-static util-linux gcc libc6-dev jq
