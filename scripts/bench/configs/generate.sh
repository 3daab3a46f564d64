#!/usr/bin/env bash
# Regenerates the config.json templates of the bench's "podman" and
# "containerd" scenarios from the callers themselves, as root:
#
#   podman.json      what Debian 12's podman 4.3 sends a runtime for
#                    `podman create --network none --rootfs DIR /bin/true`
#                    with Debian's default containers.conf
#                    (/usr/share/containers/containers.conf: eleven
#                    capabilities, the ping_group_range sysctl) and
#                    containers-common's seccomp profile
#                    (/usr/share/containers/seccomp.json, package
#                    golang-github-containers-common)
#   containerd.json  what Debian 12's containerd 1.6 sends for
#                    `ctr run --seccomp --rootfs DIR ID /bin/true`:
#                    oci.WithDefaultSpec (fourteen capabilities, the masked
#                    and read-only paths, the default mounts, RLIMIT_NOFILE
#                    1024, the device allow-list) and contrib/seccomp's
#                    DefaultProfile, the profile CRI's RuntimeDefault uses
#
# How: each caller runs with a private state (podman: --root/--runroot/
# --tmpdir under a mktemp dir; containerd: its own config, socket, root and
# state, in a private mount namespace with a tmpfs on /run) and a stand-in
# runtime that copies the bundle's config.json and then refuses to create
# anything. The copy is then made host-independent with jq: the root is
# "rootfs"; linux.cgroupsPath goes (each runtime picks its default, named
# after the container id); podman's bind mounts of its own per-container
# files (/etc/hosts, /etc/hostname, /run/.containerenv) go and its /dev/shm
# bind of a per-container tmpfs becomes a tmpfs of the same size; the
# hostname and podman's creation-time annotation become fixed values;
# containerd's process gets the PATH that CRI gives every container (ctr
# takes it from the image, and --rootfs has none).
# Nothing else is changed: scripts/bench/run.sh only sets process.args and
# clamps rlimits to the host's hard limits.
#
# usage: scripts/bench/configs/generate.sh   (writes next to itself)
#
# What it does to the host: podman (cgroupfs manager) puts conmon in
# <hierarchy>/pivot-bench-gen-<pid>/conmon in every hierarchy, and as plain
# directories where no hierarchy is mounted (tmpfs): the script removes
# those directories, and any top-level directory of /sys/fs/cgroup that
# appeared during the run and is empty. Everything else stays in the temp
# dir, which is removed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "generate.sh: run as root" >&2; exit 1; }
for c in podman ctr containerd jq unshare; do
    command -v "$c" >/dev/null || { echo "generate.sh: $c not found (scripts/setup.sh)" >&2; exit 1; }
done

W=$(mktemp -d /tmp/pivot-bench-gen.XXXXXX)
chmod 0755 "$W"
P=pivot-bench-gen-$$
ls -A /sys/fs/cgroup >"$W/cgroup-top.before"
cleanup() {
    set +e
    local d t
    for d in /sys/fs/cgroup/*/"$P"; do
        [ -d "$d" ] || continue
        t=$(stat -f -c %T "$d")
        if [ "$t" = tmpfs ]; then
            rm -rf --one-file-system "$d"
        else
            find "$d" -depth -type d -exec rmdir {} \;
        fi
    done
    for d in $(comm -13 "$W/cgroup-top.before" <(ls -A /sys/fs/cgroup)); do
        mountpoint -q "/sys/fs/cgroup/$d" || rmdir "/sys/fs/cgroup/$d" 2>/dev/null
    done
    if [ -n "$(find /sys/fs/cgroup -maxdepth 3 -name "$P" 2>/dev/null)" ]; then
        echo "generate.sh: WARNING: cgroups left: $(find /sys/fs/cgroup -maxdepth 3 -name "$P")" >&2
    fi
    if grep -q "$W" /proc/self/mountinfo; then
        echo "generate.sh: mounts left under $W; not removing it" >&2
    else
        rm -rf --one-file-system "$W"
    fi
}
trap cleanup EXIT

mkdir -p "$W/rootfs/bin" "$W/out"
cp /bin/busybox "$W/rootfs/bin/busybox"
ln -s busybox "$W/rootfs/bin/true"
cat >"$W/record-runtime" <<EOF
#!/bin/sh
# Copies the config.json of a create's bundle, refuses every command.
prev=
for a in "\$@"; do
    if [ "\$prev" = --bundle ] || [ "\$prev" = -b ]; then
        cp "\$a/config.json" "$W/out/config.json"
    fi
    prev=\$a
done
echo "record-runtime: records config.json, runs nothing" >&2
exit 1
EOF
chmod +x "$W/record-runtime"

# --- podman --------------------------------------------------------------------
RECORD_TO=$W/out/config.json
export CONTAINERS_CONF=/usr/share/containers/containers.conf
pm() {
    timeout 120 podman --root "$W/podman/root" --runroot "$W/podman/run" --tmpdir "$W/podman/tmp" \
        --runtime "$W/record-runtime" --cgroup-manager cgroupfs --events-backend none \
        --storage-driver vfs "$@"
}
pm create --name gen --network none --cgroup-parent "/$P" --rootfs "$W/rootfs" /bin/true >/dev/null
pm init gen >"$W/init.log" 2>&1 || true # refused by record-runtime, by design
pm rm -f gen >/dev/null
[ -s "$RECORD_TO" ] || { echo "generate.sh: podman sent no config.json: $(tail -n 3 "$W/init.log")" >&2; exit 1; }
jq --arg w "$W" '
    .root = {path: "rootfs"}
    | .hostname = "pivot-bench"
    | .process.env |= map(if startswith("HOSTNAME=") then "HOSTNAME=pivot-bench" else . end)
    | .mounts |= map(
        if .destination == "/dev/shm" then
            {destination: "/dev/shm", type: "tmpfs", source: "shm",
             options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]}
        elif (.source // "" | startswith($w)) then empty
        else . end)
    | del(.linux.cgroupsPath)
    | .annotations["io.kubernetes.cri-o.Created"] = "2000-01-01T00:00:00Z"
' "$RECORD_TO" >"$here/podman.json"

# --- containerd ------------------------------------------------------------------
rm -f "$RECORD_TO"
mkdir -p "$W/ctrd/root" "$W/ctrd/state"
cat >"$W/ctrd/config.toml" <<EOF
version = 2
root = "$W/ctrd/root"
state = "$W/ctrd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$W/ctrd/sock"
[ttrpc]
  address = "$W/ctrd/sock.ttrpc"
EOF
# containerd 1.6 puts shim sockets in /run/containerd/s whatever its
# config says: a private /run keeps the host's untouched.
W=$W timeout 120 unshare -m --propagation private bash -c '
    set -u
    mount -t tmpfs tmpfs /run
    containerd --config "$W/ctrd/config.toml" >"$W/ctrd/log" 2>&1 &
    daemon=$!
    for i in $(seq 100); do ctr -a "$W/ctrd/sock" version >/dev/null 2>&1 && break; sleep 0.1; done
    ctr -a "$W/ctrd/sock" -n pivot-bench run --rm --seccomp --runc-binary "$W/record-runtime" \
        --rootfs "$W/rootfs" gen /bin/true >/dev/null 2>&1
    ctr -a "$W/ctrd/sock" -n pivot-bench containers rm gen >/dev/null 2>&1
    kill "$daemon"
    wait "$daemon"
    # the shim of the refused task exits when its socket goes; make sure
    for p in /proc/[0-9]*; do
        { tr "\0" " " <"$p/cmdline"; } 2>/dev/null | grep -q "^/usr/bin/containerd-shim.* -address $W/ctrd/sock " &&
            kill "${p#/proc/}" 2>/dev/null
    done
    umount -l /run
' || true
[ -s "$RECORD_TO" ] || { echo "generate.sh: containerd sent no config.json (see $W/ctrd/log)" >&2; exit 1; }
# With --rootfs there is no image config, so no PATH: add the one CRI sets
# (oci.WithDefaultPathEnv); youki refuses a process without PATH.
jq '.root = {path: "rootfs"} | del(.linux.cgroupsPath)
    | .process.env = ((.process.env // []) | if any(startswith("PATH=")) then . else
        . + ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"] end)
' "$RECORD_TO" >"$here/containerd.json"

{
    echo "Generated by scripts/bench/configs/generate.sh on $(date -u '+%Y-%m-%d') (Debian $(cat /etc/debian_version), $(uname -m)):"
    echo "- podman.json: $(podman --version); containers.conf and seccomp.json of golang-github-containers-common $(dpkg-query -W -f '${Version}' golang-github-containers-common 2>/dev/null || echo '?')"
    echo "- containerd.json: $(containerd --version | cut -d' ' -f1-3); ctr run --seccomp"
} >"$here/SOURCES"
echo "generate.sh: wrote $here/podman.json, containerd.json and SOURCES" >&2
