#!/usr/bin/env bash
# Runs pivot's black-box suite on a systemd host: boots Debian's kernel
# (cgroup v2 only, or v1 with PIVOT_VM_CGROUP_V1) in QEMU with a small
# Debian root filesystem whose pid 1
# is systemd, with the system bus (built once by scripts/vm/systemd-image.sh
# and cached), and runs the suite there as the unit pivot-tests.service,
# by default with PIVOT_TEST_SYSTEMD=1 (the runtime driven with
# --systemd-cgroup). Reports what the suite printed on the serial console.
# See docs/V2-HOST.md.
#
# usage: scripts/vm/systemd.sh [FILTER...] [LIBTEST FLAGS...]   (as root)
#   e.g. scripts/vm/systemd.sh cgroups::    scripts/vm/systemd.sh cgroups:: exec::
#   (libtest takes one filter: with several, the suite runs once per filter
#   and a closing line sums them up)
# env:   PIVOT_VM_KERNEL_ROOT  the kernel, as for scripts/vm/run.sh (the
#                          directory scripts/vm/setup.sh prints)
#        PIVOT_VM_KERNEL   kernel version under lib/modules (default: the
#                          newest with a boot/vmlinuz-VERSION)
#        PIVOT_VM_ACCEL    auto (default), kvm or tcg, as for run.sh
#        PIVOT_VM_TIMEOUT  seconds the VM may run (default 1200)
#        PIVOT_VM_IMAGE    the root image (default: what systemd-image.sh
#                          builds or finds in PIVOT_VM_CACHE)
#        PIVOT_VM_CACHE    where the image is kept (default /var/cache/pivot-vm)
#        PIVOT_VM_RUNTIME  pivot (default), or the path of another runtime
#                          binary to run the suite against (e.g.
#                          ../shared/peers/runc-1.5.1), put in the VM's
#                          /usr/local/bin under its own name
#        PIVOT_VM_CGROUP_V1  unset (default): cgroup v2 only; hybrid or
#                          legacy: systemd boots with
#                          systemd.unified_cgroup_hierarchy=0, the
#                          controllers on cgroup v1 (hybrid: with systemd's
#                          own cgroup2 tree at /sys/fs/cgroup/unified;
#                          legacy: name=systemd v1 hierarchy alone)
#        PIVOT_TEST_SYSTEMD  passed to the suite (default 1: --systemd-cgroup;
#                          0 runs the suite with the cgroupfs driver, on a
#                          systemd host)
#        PIVOT_TEST_NO_PIVOT, RUNC_BIN  passed on to the suite in the VM
#        PIVOT_VM_BATS     instead of the black-box suite, these files of
#                          runc's own bats integration suite (as
#                          scripts/conformance/setup.sh prepares it), e.g.
#                          PIVOT_VM_BATS="cgroups.bats update.bats", run
#                          against PIVOT_VM_RUNTIME, with RUNC_USE_SYSTEMD=1
#                          unless PIVOT_TEST_SYSTEMD=0; FILTER, if given, is
#                          bats' --filter
#        PIVOT_VM_BATS_TIMEOUT  seconds one bats file may run (default 600)
#        PIVOT_VM_BATS_ROOTLESS  with PIVOT_VM_BATS: run bats as an
#                          unprivileged user with a systemd user instance
#                          (user@UID.service and its session bus, from
#                          systemd-user-session.sh), as runc's
#                          tests/rootless.sh does, once per mode of this
#                          list: "plain" (no subordinate ids), "idmap"
#                          (100000:65536 and 200000:65536, as
#                          scripts/conformance/rootless.sh); with
#                          RUNC_USE_SYSTEMD=1 the containers' cgroups are
#                          scopes of the user's instance (runc's rootless
#                          cgroup feature through systemd)
#        PIVOT_VM_HARNESS  instead of the black-box suite, these harnesses
#                          ("containerd", "podman" or both), run against
#                          PIVOT_VM_RUNTIME with systemd's cgroup manager
#                          (scripts/containerd/run.sh --systemd-cgroup,
#                          scripts/podman/run.sh --cgroup-manager systemd;
#                          with PIVOT_TEST_SYSTEMD=0 their cgroupfs mode)
#        PIVOT_VM_HARNESS_STEP_TIMEOUT  a harness step's time limit
#                          (default 300: TCG is slow)
#        PIVOT_CONFORMANCE_CACHE  where setup.sh keeps the suite (default
#                          /var/cache/pivot-conformance)
# Exits with the suite's exit code (0 all passed, 101 some failed); 0 with a
# message when /dev/kvm is missing and PIVOT_VM_ACCEL is not tcg (a skip); 2
# when a prerequisite is missing; 3 when the VM could not set up or died;
# 124 when it timed out (with PIVOT_VM_BATS or PIVOT_VM_HARNESS, 1 when
# some failed). The
# last line is the suite's closing line.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

# shellcheck source=lib.sh
. "$root/scripts/vm/lib.sh"

vm_accel "the systemd VM tests"
vm_tools
command -v mkfs.ext4 >/dev/null || die "mkfs.ext4 is missing: apt-get install e2fsprogs"

vm_kernel
timeout_s=${PIVOT_VM_TIMEOUT:-1200}

image=${PIVOT_VM_IMAGE:-}
if [ -z "$image" ]; then
    image=$(bash "$root/scripts/vm/systemd-image.sh" | tail -n 1)
fi
[ -f "$image" ] || die "no root image at $image"

runtime=${PIVOT_VM_RUNTIME:-pivot}
if [ "$runtime" != pivot ]; then
    runtime=$(readlink -f "$runtime")
    [ -x "$runtime" ] || die "PIVOT_VM_RUNTIME: $runtime is not an executable"
fi

# runc's bats suite (PIVOT_VM_BATS), as scripts/conformance/setup.sh made it.
vm_bats

# The harnesses (PIVOT_VM_HARNESS).
harnesses=()
if [ -n "${PIVOT_VM_HARNESS:-}" ]; then
    [ ${#bats_files[@]} -eq 0 ] || die "PIVOT_VM_BATS and PIVOT_VM_HARNESS: one at a time"
    for h in $PIVOT_VM_HARNESS; do
        case $h in
            containerd | podman) harnesses+=("$h") ;;
            *) die "PIVOT_VM_HARNESS: containerd or podman, not $h" ;;
        esac
    done
    harness_step_timeout=${PIVOT_VM_HARNESS_STEP_TIMEOUT:-300}
    [[ $harness_step_timeout =~ ^[0-9]+$ ]] || die "PIVOT_VM_HARNESS_STEP_TIMEOUT must be a number of seconds"
    command -v gcc >/dev/null || die "gcc is missing (the harnesses' subreaper): apt-get install gcc"
fi

tmp=$(mktemp -d /tmp/pivot-vm-systemd.XXXXXX)
cleanup() { rm -rf -- "$tmp"; }
trap cleanup EXIT

# ---- build: static pivot, probe and suite (only pivot and probe with
# PIVOT_VM_BATS or PIVOT_VM_HARNESS).
[ ${#harnesses[@]} -gt 0 ] && vm_no_suite=${harnesses[*]}
vm_build

# ---- the initramfs: busybox, and the modules that mount the root image.
ird=$tmp/initrd
mkdir -p "$ird/bin"
install -m 0755 "$root/scripts/vm/systemd-initrd.sh" "$ird/init"
install -m 0755 "$busybox" "$ird/bin/busybox"
: >"$ird/modules"
add_module() { # NAME: its .ko (decompressed) and its dependencies', in load order
    local name=$1 line dep
    grep -q "/$name\.ko\(\.[a-z]*\)\?\$" "$moddir/modules.builtin" 2>/dev/null && return
    line=$(grep "/$name\.ko\(\.[a-z]*\)\?:" "$moddir/modules.dep" | head -n 1) || true
    [ -n "$line" ] || die "kernel module $name not found in $moddir"
    for dep in $(echo "${line#*:}" | tr ' ' '\n' | tac) "${line%%:*}"; do
        local out=/lib/modules/$(basename "${dep%.ko*}").ko
        grep -qxF "$out" "$ird/modules" && continue
        mkdir -p "$ird/lib/modules"
        case $dep in
            *.ko) cp "$moddir/$dep" "$ird$out" ;;
            *.ko.xz) "$busybox" xzcat "$moddir/$dep" >"$ird$out" ;;
            *.ko.gz) "$busybox" zcat "$moddir/$dep" >"$ird$out" ;;
            *.ko.zst) zstd -qdc "$moddir/$dep" >"$ird$out" ;;
            *) die "unknown module file $dep" ;;
        esac
        echo "$out" >>"$ird/modules"
    done
}
# ext4 asks the crypto API for crc32c when it mounts: load it first;
# autofs4, which systemd wants before it can load modules itself.
for m in crc32c_generic crc32c-intel virtio_blk ext4 autofs4; do
    add_module "$m"
done
(cd "$ird" && find . | "$busybox" cpio -o -H newc 2>/dev/null) | gzip -1 >"$tmp/initrd.gz"

# ---- the payload disk, mounted at /pivot-vm: the runner, what it copies
# into the root (/pivot-vm/root, merged-/usr paths), the suite's arguments
# and environment, and the modules systemd's host has in /usr/lib/modules.
pl=$tmp/payload
mkdir -p "$pl/root/usr/bin" "$pl/root/usr/local/bin" "$pl/modules/$kver"
install -m 0755 "$root/scripts/vm/systemd-tests.sh" "$pl/run"
install -m 0644 "$root/scripts/vm/guest.sh" "$pl/guest.sh"
vm_install_suite "$pl/root" /usr/bin
# Modules (no sound or graphics), bind-mounted at /usr/lib/modules in the
# VM for modprobe.
cp -a "$moddir"/modules.* "$pl/modules/$kver/"
tar -C "$moddir" -cf - --exclude=kernel/sound --exclude=kernel/drivers kernel |
    tar -C "$pl/modules/$kver" -xf -
tar -C "$moddir" -cf - kernel/drivers/net kernel/drivers/block | tar -C "$pl/modules/$kver" -xf -
echo "overlay veth" >"$pl/modprobe"
for f in /usr/share/containers/seccomp.json /usr/include/x86_64-linux-gnu/asm/unistd_64.h; do
    [ -f "$f" ] && install -D -m 0644 "$f" "$pl/root$f"
done
runc_bin=${RUNC_BIN:-/usr/sbin/runc}
: >"$pl/env"
if [ -x "$runc_bin" ]; then
    install -m 0755 "$runc_bin" "$pl/root/usr/local/bin/runc"
    echo "RUNC_BIN=/usr/local/bin/runc" >>"$pl/env"
fi
if [ "$runtime" != pivot ]; then
    install -m 0755 "$runtime" "$pl/root/usr/local/bin/$(basename "$runtime")"
    echo "PIVOT_BIN=/usr/local/bin/$(basename "$runtime")" >>"$pl/env"
fi
echo "PIVOT_TEST_SYSTEMD=${PIVOT_TEST_SYSTEMD:-1}" >>"$pl/env"
# A user's systemd instance with a session bus (the rootless tests').
bash "$root/scripts/vm/systemd-user-session.sh" "$pl"
# runc's bats suite at /runc, laid out as in runc's source (helpers.bash
# finds recvtty and the others at ../../contrib/cmd), with the conformance
# harness's subreaper and a stand-in for `go env GOARCH` (get-images.sh);
# the image has bats, jq, gawk, xz and script. The debian image goes in only
# for files that use it; otherwise an empty file keeps get-images.sh from
# downloading it.
if [ ${#bats_files[@]} -gt 0 ]; then
    vm_bats_tree "$pl/root"
    install -m 0755 "$conf_cache/bin/subreaper" "$pl/root/usr/local/bin/subreaper"
    printf '%s\n' "${bats_files[@]}" >"$pl/bats"
    echo "$bats_timeout" >"$pl/bats-timeout"
    if [ -n "${PIVOT_VM_BATS_ROOTLESS:-}" ]; then
        for m in $PIVOT_VM_BATS_ROOTLESS; do
            case $m in
                plain | idmap) echo "$m" >>"$pl/bats-rootless" ;;
                *) die "PIVOT_VM_BATS_ROOTLESS: plain or idmap, not $m" ;;
            esac
        done
    fi
    if [ "$runtime" = pivot ]; then
        echo /usr/bin/pivot >"$pl/bats-runtime"
    else
        echo "/usr/local/bin/$(basename "$runtime")" >"$pl/bats-runtime"
    fi
fi
# The harnesses at /pivot-src/scripts as in this tree (they find the step
# runner at ../lib), with the subreaper compiled here (the image has no gcc).
if [ ${#harnesses[@]} -gt 0 ]; then
    mkdir -p "$pl/root/pivot-src/scripts/conformance"
    cp -a "$root/scripts/lib" "$root/scripts/containerd" "$root/scripts/podman" "$pl/root/pivot-src/scripts/"
    cp -a "$root/scripts/conformance/subreaper.c" "$pl/root/pivot-src/scripts/conformance/"
    gcc -O2 -Wall -o "$pl/root/usr/local/bin/subreaper" "$root/scripts/conformance/subreaper.c"
    printf '%s\n' "${harnesses[@]}" >"$pl/harness"
    echo "$harness_step_timeout" >"$pl/harness-step-timeout"
    if [ "$runtime" = pivot ]; then
        echo /usr/bin/pivot >"$pl/harness-runtime"
    else
        echo "/usr/local/bin/$(basename "$runtime")" >"$pl/harness-runtime"
    fi
fi
[ -n "${PIVOT_TEST_NO_PIVOT:-}" ] && echo "PIVOT_TEST_NO_PIVOT=$PIVOT_TEST_NO_PIVOT" >>"$pl/env"
: >"$pl/args"
for arg in "$@"; do
    printf '%s\n' "$arg" >>"$pl/args"
done
pl_mb=$(($(du -sm "$pl" | cut -f1) + 64))
mkfs.ext4 -q -F -L pivot-vm-payload -E root_owner=0:0 -d "$pl" "$tmp/payload.ext4" "${pl_mb}M" >/dev/null

# ---- boot: the cached image read-only under a throw-away overlay (QEMU's
# snapshot=on keeps it in $TMPDIR), the payload disk, the serial console.
case ${PIVOT_VM_CGROUP_V1:-} in
    '')
        hierarchy_text="cgroup v2 only"
        cmdline="console=ttyS0 cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1"
        ;;
    hybrid)
        hierarchy_text="cgroup v1 controllers, hybrid"
        cmdline="console=ttyS0 systemd.unified_cgroup_hierarchy=0 systemd.legacy_systemd_cgroup_controller=0"
        ;;
    legacy)
        hierarchy_text="cgroup v1 only, legacy"
        cmdline="console=ttyS0 systemd.unified_cgroup_hierarchy=0 systemd.legacy_systemd_cgroup_controller=1"
        ;;
    *) die "PIVOT_VM_CGROUP_V1 must be hybrid or legacy, not $PIVOT_VM_CGROUP_V1" ;;
esac
cmdline+=" panic=-1 quiet loglevel=4"
cmdline+=" systemd.show_status=error"
# No check of the IO-APIC timer: on a busy host the emulated one can miss
# it, and the kernel panics at boot ("IO-APIC + timer doesn't work!").
cmdline+=" no_timer_check"
say "booting $kernel with $(basename "$image") ($hierarchy_text) under $accel (2 vCPUs, 2 GiB, no network, at most ${timeout_s}s)"
say "  runtime: $([ "$runtime" = pivot ] && echo "pivot (this tree)" || echo "$runtime"); PIVOT_TEST_SYSTEMD=${PIVOT_TEST_SYSTEMD:-1}"
vm_boot "systemd, $hierarchy_text" \
    -drive "file=$image,if=virtio,format=raw,snapshot=on" \
    -drive "file=$tmp/payload.ext4,if=virtio,format=raw,readonly=on" \
    -initrd "$tmp/initrd.gz" -append "$cmdline"
