#!/usr/bin/env bash
# Runs pivot's black-box suite on a unified cgroup v2 kernel: builds pivot,
# probe and the suite statically, packs them with busybox into an
# initramfs, boots Debian's kernel in QEMU with cgroup v1 switched off,
# and reports what the suite printed on the serial console.
# See docs/V2-HOST.md.
#
# usage: scripts/vm/run.sh [FILTER] [LIBTEST FLAGS...]   (as root)
#   e.g. scripts/vm/run.sh cgroups::     scripts/vm/run.sh --exact kill::x
# env:   PIVOT_VM_ACCEL    auto (default: KVM if the CPU has VT-x/AMD-V,
#                          else TCG), kvm or tcg
#        PIVOT_VM_TIMEOUT  seconds the VM may run (default 900)
#        PIVOT_VM_KERNEL_ROOT  a directory holding boot/vmlinuz-VERSION and
#                          lib/modules/VERSION, as scripts/vm/setup.sh
#                          unpacks a kernel package (default: the host's
#                          / , that is /boot and /lib/modules)
#        PIVOT_VM_KERNEL   kernel version under lib/modules (default: the
#                          newest with a boot/vmlinuz-VERSION)
#        PIVOT_VM_CGROUP   the suite's cgroup in the VM (default
#                          /system.slice/pivot-tests.service; / for the root)
#        PIVOT_VM_TMPFS_TMP=1  a tmpfs of its own on /tmp
#        PIVOT_VM_RUNTIME  pivot (default) or runc: the runtime under test
#        PIVOT_TEST_NO_PIVOT, RUNC_BIN  passed on to the suite in the VM
#        PIVOT_VM_BATS     instead of the black-box suite, these files of
#                          runc's own bats integration suite (as
#                          scripts/conformance/setup.sh prepares it), e.g.
#                          PIVOT_VM_BATS=checkpoint.bats, run against the
#                          runtime PIVOT_VM_RUNTIME names; FILTER, if given,
#                          is bats' --filter (a regex of test names)
#        PIVOT_VM_BATS_TIMEOUT  seconds one bats file may run (default 600)
#        PIVOT_VM_BATS_TEST_TIMEOUT  seconds without bats output after which
#                          a test counts as stuck and the runtime's and
#                          criu's processes are killed (default 180)
#        PIVOT_CONFORMANCE_CACHE  where setup.sh keeps the suite (default
#                          /var/cache/pivot-conformance)
# Exits with the suite's exit code (0 all passed, 101 some failed; with
# PIVOT_VM_BATS, 1 some failed); 0 with a message when /dev/kvm is missing
# (a skip); 2 when a prerequisite is missing; 3 when the VM could not set up
# or died; 124 when it timed out. The last line is the suite's closing line.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

# shellcheck source=lib.sh
. "$root/scripts/vm/lib.sh"

vm_accel "the cgroup v2 VM tests"
vm_tools
vm_kernel
timeout_s=${PIVOT_VM_TIMEOUT:-900}

# runc's bats suite (PIVOT_VM_BATS), with what it needs on this machine.
vm_bats
if [ ${#bats_files[@]} -gt 0 ]; then
    for p in bash bats jq script gawk xz; do
        command -v "$p" >/dev/null || die "PIVOT_VM_BATS needs $p on this machine: run scripts/conformance/setup.sh"
    done
    bats_test_timeout=${PIVOT_VM_BATS_TEST_TIMEOUT:-180}
    [[ $bats_test_timeout =~ ^[0-9]+$ ]] || die "PIVOT_VM_BATS_TEST_TIMEOUT must be a number of seconds"
fi

tmp=$(mktemp -d /tmp/pivot-vm.XXXXXX)
cleanup() { rm -rf -- "$tmp"; }
trap cleanup EXIT

# ---- build: static pivot, probe and suite (only pivot and probe with
# PIVOT_VM_BATS).
vm_build

# ---- the initramfs
say "packing the initramfs (kernel $kver)"
ird=$tmp/root
mkdir -p "$ird"/{bin,sbin,usr/bin,usr/sbin,lib,lib64,etc/pivot-vm,proc,sys,dev,run,tmp,root}
install -m 0755 "$root/scripts/vm/init.sh" "$ird/init"
install -m 0644 "$root/scripts/vm/guest.sh" "$ird/etc/pivot-vm/guest.sh"
install -m 0755 "$busybox" "$ird/bin/busybox"
vm_install_suite "$ird" /bin

# A dynamically linked host program with its libraries, at the same paths.
add_program() {
    local prog=$1 lib
    install -D -m 0755 "$prog" "$ird$prog"
    for lib in $(ldd "$prog" 2>/dev/null | grep -o '/[^ ]*' || true); do
        [ -e "$ird$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$ird$lib"
    done
}
# add_command NAME PATH MISSING: the host's program NAME in the VM, as PATH
# too; says MISSING when the host has none.
add_command() {
    local bin
    bin=$(command -v "$1" || true)
    if [ -z "$bin" ]; then
        say "$3"
        return 0
    fi
    bin=$(readlink -f "$bin")
    add_program "$bin"
    [ "$bin" = "$2" ] || ln -sf "$bin" "$ird$2"
}
# /bin/sh: the host's (dash on Debian), as hooks run it with their own
# argv[0], which busybox would take for an applet name.
host_sh=$(readlink -f /bin/sh)
if [ "$host_sh" != "$(readlink -f "$busybox")" ] && ldd "$host_sh" >/dev/null 2>&1; then
    add_program "$host_sh"
    [ "$host_sh" = /bin/sh ] || ln -sf "$host_sh" "$ird/bin/sh"
else
    ln -s busybox "$ird/bin/sh"
    say "/bin/sh is busybox: hook tests that give the shell its own argv[0] will fail"
fi
# iproute2's ip (busybox's cannot make veth pairs with a peer name) for the
# network device tests; runc for the differential tests.
add_command ip /usr/sbin/ip "iproute2's ip is missing: the network device tests use busybox's ip"
runc_bin=${RUNC_BIN:-/usr/sbin/runc}
if [ -x "$runc_bin" ]; then
    add_program "$runc_bin"
else
    say "$runc_bin is missing: the differential tests will be skipped"
fi
# CRIU for the checkpoint/restore tests, with the programs it runs: ip
# (above) saves and restores a dumped network namespace's addresses and
# routes; iptables-restore and ip6tables-restore lock that namespace's
# network during a dump and unlock it after a restore, CRIU's default
# network lock (iptables-save -V tells CRIU the backend; with nft it also
# saves and restores the legacy tables with iptables-legacy-save and
# -restore); GNU tar packs and unpacks tmpfs and devtmpfs mounts (busybox's
# tar lacks --no-unquote and the like). iptables is the host's alternative,
# xtables-nft-multi (Debian's default) or xtables-legacy-multi, with the two
# extensions the lock rules load (libxt_mark for "-m mark", libxt_standard
# for ACCEPT and DROP); the kernel modules are added below.
criu_bin=$(command -v criu || true)
ipt_multi=
if [ -n "$criu_bin" ]; then
    criu_bin=$(readlink -f "$criu_bin")
    add_program "$criu_bin"
    [ "$criu_bin" = /usr/sbin/criu ] || ln -sf "$criu_bin" "$ird/usr/sbin/criu"
    ipt_restore=$(command -v iptables-restore || true)
    if [ -n "$ipt_restore" ]; then
        ipt_multi=$(readlink -f "$ipt_restore") # xtables-nft-multi or xtables-legacy-multi
        add_program "$ipt_multi"
        for t in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
            ln -sf "$ipt_multi" "$ird/usr/sbin/$t"
        done
        # With the nft backend CRIU also saves the legacy tables.
        legacy=$(dirname "$ipt_multi")/xtables-legacy-multi
        if [ "${ipt_multi##*/}" = xtables-nft-multi ] && [ -x "$legacy" ]; then
            add_program "$legacy"
            for t in iptables-legacy-save iptables-legacy-restore ip6tables-legacy-save ip6tables-legacy-restore; do
                ln -sf "$legacy" "$ird/usr/sbin/$t"
            done
        fi
        xtlib=$(dirname "$(readlink -f "$(ldd "$ipt_multi" | grep -o '/[^ ]*/libxtables\.so[^ ]*')")")/xtables
        for x in standard mark; do
            [ -f "$xtlib/libxt_$x.so" ] && install -D -m 0644 "$xtlib/libxt_$x.so" "$ird$xtlib/libxt_$x.so"
        done
    else
        say "iptables is missing: CRIU's network lock, and so the checkpoint tests, will fail"
    fi
    add_command tar /usr/bin/tar "GNU tar is missing: CRIU cannot dump a container's tmpfs mounts"
else
    say "criu is missing: the checkpoint/restore tests will fail"
fi
# Data files some tests read from the host.
for f in /usr/share/containers/seccomp.json /usr/include/x86_64-linux-gnu/asm/unistd_64.h; do
    [ -f "$f" ] && install -D -m 0644 "$f" "$ird$f"
done

# runc's bats suite (PIVOT_VM_BATS), laid out as in runc's source at /runc
# (helpers.bash finds recvtty and the others at ../../contrib/cmd from its
# own directory), with what bats and the tests run: bash, bats, jq,
# util-linux's script (bats runs under a pseudo-terminal, as in runc's CI
# and scripts/conformance/run.sh), the conformance harness's subreaper, and
# GNU coreutils, sed, grep, findutils, gawk (as awk) and xz rather than
# busybox's applets (the tests use GNU options, e.g. mktemp's suffix
# templates). get-images.sh asks `go env GOARCH`: a stand-in answers. The
# debian image goes in only for files that use it; otherwise an empty file
# keeps get-images.sh from trying to download it.
if [ ${#bats_files[@]} -gt 0 ]; then
    for p in bash jq script gawk xz; do
        add_program "$(readlink -f "$(command -v $p)")"
    done
    ln -sf /usr/bin/bash "$ird/bin/bash"
    ln -sf gawk "$ird/usr/bin/awk"
    for f in $(dpkg -L coreutils sed grep findutils 2>/dev/null | grep -E '^(/usr)?/s?bin/[^/]+$'); do
        if [ -f "$f" ] && [ -x "$f" ] && [ ! -L "$f" ]; then
            add_program "$f"
        fi
    done
    install -D -m 0755 "$(command -v bats)" "$ird/usr/bin/bats"
    for d in /usr/lib/bats-core /usr/libexec/bats-core; do
        mkdir -p "$ird$d"
        cp -a "$d/." "$ird$d/"
    done
    add_program "$conf_cache/bin/subreaper"
    vm_bats_tree "$ird"
    for bin in "$ird"/runc/contrib/cmd/*/*; do
        for lib in $(ldd "$bin" 2>/dev/null | grep -o '/[^ ]*' || true); do
            [ -e "$ird$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$ird$lib"
        done
    done
    printf '%s\n' "${bats_files[@]}" >"$ird/etc/pivot-vm/bats"
    echo "$conf_cache/bin/subreaper" >"$ird/etc/pivot-vm/bats-subreaper"
    echo "$bats_timeout" >"$ird/etc/pivot-vm/bats-timeout"
    echo "$bats_test_timeout" >"$ird/etc/pivot-vm/bats-test-timeout"
fi

# Modules: overlay and veth, with what they depend on, dependencies first
# (from modules.dep); nothing when they are built in.
: >"$ird/etc/pivot-vm/modules"
add_module() {
    local name=$1 line dep
    if grep -q "/$name\.ko\(\.[a-z]*\)\?\$" "$moddir/modules.builtin" 2>/dev/null; then
        return
    fi
    line=$(grep "/$name\.ko\(\.[a-z]*\)\?:" "$moddir/modules.dep" | head -n 1) || true
    if [ -z "$line" ]; then
        say "kernel module $name not found in $moddir: tests needing it will fail"
        return
    fi
    # modules.dep lists dependencies so that the last must load first.
    for dep in $(echo "${line#*:}" | tr ' ' '\n' | tac); do
        add_module_file "$dep"
    done
    add_module_file "${line%%:*}"
}
add_module_file() { # a path relative to $moddir, possibly compressed
    local rel=$1 out
    out=$moddir/${rel%.*}
    case $rel in
        *.ko) out=$moddir/$rel ;;
    esac
    grep -qxF "$out" "$ird/etc/pivot-vm/modules" && return
    mkdir -p "$(dirname "$ird$out")"
    case $rel in
        *.ko) cp "$moddir/$rel" "$ird$out" ;;
        *.ko.xz) "$busybox" xzcat "$moddir/$rel" >"$ird$out" ;;
        *.ko.gz) "$busybox" zcat "$moddir/$rel" >"$ird$out" ;;
        *.ko.zst) zstd -qdc "$moddir/$rel" >"$ird$out" ;;
        *) die "unknown module file $rel" ;;
    esac
    echo "$out" >>"$ird/etc/pivot-vm/modules"
}
for m in overlay veth; do
    add_module "$m"
done
# For CRIU (criu check fails without them): crc32c before libcrc32c (which
# asks the crypto API for crc32c, and nothing can load a module on demand
# here); the sock_diag modules CRIU finds sockets with; tun. For its
# network lock: with nft, nf_tables, and nft_compat and xt_mark, which the
# rules do not use (iptables-nft 1.8.9 makes "-m mark --mark 0xc114" a
# native meta mark match) but iptables-nft asks them for the revision of
# the mark match: without them it warns "Extension mark revision 0 not
# supported" and installs the match with a wrong mask (0xc114/0x1). With
# legacy, ip_tables and ip6_tables with their filter tables and xt_mark.
# nf_conntrack_netlink: a dump of a network namespace lists its conntrack
# entries (without it the dump fails: "-22 reported by netlink").
if [ -n "$criu_bin" ]; then
    for m in crc32c_generic crc32c-intel libcrc32c unix_diag inet_diag tcp_diag udp_diag raw_diag \
        netlink_diag af_packet_diag tun; do
        add_module "$m"
    done
    case ${ipt_multi##*/} in
        xtables-nft-multi) ipt_mods="nfnetlink nf_tables x_tables nft_compat xt_mark" ;;
        xtables-legacy-multi) ipt_mods="x_tables ip_tables iptable_filter ip6_tables ip6table_filter xt_mark" ;;
        *) ipt_mods= ;;
    esac
    for m in $ipt_mods nf_conntrack_netlink; do
        add_module "$m"
    done
fi

# The suite's arguments and environment.
: >"$ird/etc/pivot-vm/args"
for arg in "$@"; do
    printf '%s\n' "$arg" >>"$ird/etc/pivot-vm/args"
done
: >"$ird/etc/pivot-vm/env"
[ -n "${PIVOT_TEST_NO_PIVOT:-}" ] && echo "PIVOT_TEST_NO_PIVOT=$PIVOT_TEST_NO_PIVOT" >>"$ird/etc/pivot-vm/env"
[ -x "$runc_bin" ] && echo "RUNC_BIN=$runc_bin" >>"$ird/etc/pivot-vm/env"
case ${PIVOT_VM_RUNTIME:-pivot} in
    pivot)
        [ ${#bats_files[@]} -eq 0 ] || echo /bin/pivot >"$ird/etc/pivot-vm/bats-runtime"
        ;;
    runc)
        [ -x "$runc_bin" ] || die "PIVOT_VM_RUNTIME=runc, but $runc_bin is missing"
        echo "PIVOT_BIN=$runc_bin" >>"$ird/etc/pivot-vm/env"
        [ ${#bats_files[@]} -eq 0 ] || echo "$runc_bin" >"$ird/etc/pivot-vm/bats-runtime"
        ;;
    *) die "PIVOT_VM_RUNTIME must be pivot or runc" ;;
esac
runner_cg=${PIVOT_VM_CGROUP:-/system.slice/pivot-tests.service}
case $runner_cg in
    /*) ;;
    *) die "PIVOT_VM_CGROUP must be an absolute cgroup path, not $runner_cg" ;;
esac
echo "$runner_cg" >"$ird/etc/pivot-vm/cgroup"
[ "${PIVOT_VM_TMPFS_TMP:-0}" = 1 ] && touch "$ird/etc/pivot-vm/tmpfs-tmp"

(cd "$ird" && find . | "$busybox" cpio -o -H newc 2>/dev/null) | gzip -1 >"$tmp/initrd.gz"
say "initramfs $(du -h "$tmp/initrd.gz" | cut -f1)"

# ---- boot
# no_timer_check: under TCG on a loaded host the kernel's check of the
# 8254 timer's interrupt can miss it and panic ("IO-APIC + timer doesn't
# work!"), seen once at load 17.
cmdline="console=ttyS0 cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1 panic=-1 quiet loglevel=4 no_timer_check"
say "booting $kernel under $accel (2 vCPUs, 2 GiB, no network, at most ${timeout_s}s)"
say "  append: $cmdline"
vm_boot "cgroup v2 only" -initrd "$tmp/initrd.gz" -append "$cmdline"
