#!/usr/bin/env bash
# Installs the Debian packages pivot's demo, tests and benchmarks use:
# busybox-static (test root filesystems), libseccomp-dev and pkg-config
# (seccomp), runc and crun (reference runtimes), bats, hyperfine, strace,
# time (benchmarks and profiles), jq (bundle edits in scripts),
# golang-github-containers-common (podman's default seccomp profile),
# uidmap (newuidmap/newgidmap for rootless containers with several id ranges),
# man-db (scripts/package/test.sh renders the packaged man pages), zsh
# and fish (the completion scripts are checked with them).
#
# usage: scripts/setup.sh   (as root)
set -euo pipefail
# shellcheck source=lib/apt.sh
. "$(dirname "$0")/lib/apt.sh"
apt_install_missing setup busybox-static libseccomp-dev pkg-config runc crun bats hyperfine strace \
    time jq golang-github-containers-common uidmap man-db zsh fish
