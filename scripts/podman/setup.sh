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

packages=(podman conmon catatonit busybox-static util-linux gcc libc6-dev jq)
missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "podman setup: installing ${missing[*]}" >&2
    timeout 900 apt-get update -qq
    timeout 1800 apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
