# Sourced by scripts/vm/run.sh and scripts/vm/systemd.sh (from the
# checkout's root, as root): what both do on the host before and after the
# VM runs. Each function sets the variables its comment names.

say() { printf 'pivot-vm: %s\n' "$*"; }
die() {
    say "$*"
    exit 2
}

# vm_accel WHAT: accel and accel_opts from PIVOT_VM_ACCEL: KVM with
# hardware virtualization. Without /dev/kvm the run is skipped (exit 0,
# naming WHAT) unless PIVOT_VM_ACCEL=tcg asks for emulation. A /dev/kvm
# without VT-x/AMD-V (a nested sandbox whose KVM is software, like
# kvm_pvm) runs an ordinary guest kernel instruction by instruction, far
# slower than QEMU's TCG: there TCG is used, and said.
vm_accel() {
    accel=${PIVOT_VM_ACCEL:-auto}
    case $accel in
        auto | kvm)
            if [ ! -e /dev/kvm ]; then
                say "/dev/kvm is missing: no KVM on this machine, so $1 are SKIPPED"
                say "(PIVOT_VM_ACCEL=tcg runs them under emulation instead)"
                exit 0
            fi
            if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
                say "/dev/kvm is not readable and writable by $(id -un): $1 are SKIPPED"
                exit 0
            fi
            if [ "$accel" = auto ]; then
                accel=kvm
                if [ -d /sys/module/kvm_pvm ] || ! grep -qw -e vmx -e svm /proc/cpuinfo; then
                    say "/dev/kvm is here but the CPU shows no VT-x/AMD-V (software KVM$([ -d /sys/module/kvm_pvm ] && echo ': kvm_pvm'))," \
                        "which would emulate the guest kernel slowly: using QEMU's TCG instead (PIVOT_VM_ACCEL=kvm forces KVM)"
                    accel=tcg
                fi
            fi
            ;;
        tcg) ;;
        *) die "PIVOT_VM_ACCEL must be auto, kvm or tcg, not $accel" ;;
    esac
    case $accel in
        kvm) accel_opts=(-enable-kvm -cpu host) ;;
        # One host thread for both vCPUs: with a thread each (thread=multi)
        # the guest kernel now and then meets a stale int3 while it patches
        # its own code (jump labels, which netfilter and the cgroup device
        # filter flip) and panics ("Oops: int3"), seen 2 times in 4 runs of
        # the suite.
        tcg) accel_opts=(-accel tcg,thread=single -cpu max) ;;
    esac
}

# vm_tools: qemu and busybox (BUSYBOX), as root.
vm_tools() {
    [ "$(id -u)" -eq 0 ] || die "run as root (the VM's files are built from root's)"
    qemu=$(command -v qemu-system-x86_64) ||
        die "qemu-system-x86_64 is missing: apt-get install qemu-system-x86 (scripts/vm/setup.sh)"
    busybox=${BUSYBOX:-/bin/busybox}
    [ -x "$busybox" ] || die "$busybox is missing: apt-get install busybox-static"
}

# vm_kernel: kroot, kver, kernel and moddir from PIVOT_VM_KERNEL_ROOT and
# PIVOT_VM_KERNEL: Debian's kernel (linux-image-6.12-amd64) with its
# modules, as scripts/vm/setup.sh unpacks it.
vm_kernel() {
    local dir v
    kroot=${PIVOT_VM_KERNEL_ROOT:-}
    kroot=${kroot%/}
    kver=${PIVOT_VM_KERNEL:-}
    if [ -z "$kver" ]; then
        for dir in $(ls -d "$kroot"/lib/modules/*/ 2>/dev/null | sort -V -r); do
            v=$(basename "$dir")
            if [ -f "$kroot/boot/vmlinuz-$v" ]; then
                kver=$v
                break
            fi
        done
    fi
    [ -n "$kver" ] && [ -f "$kroot/boot/vmlinuz-$kver" ] && [ -d "$kroot/lib/modules/$kver" ] ||
        die "no kernel with modules in ${kroot:-}/boot and ${kroot:-}/lib/modules: run scripts/vm/setup.sh and pass the directory it prints as PIVOT_VM_KERNEL_ROOT"
    kernel=$kroot/boot/vmlinuz-$kver
    moddir=$kroot/lib/modules/$kver
}

# vm_bats: bats_files (empty without PIVOT_VM_BATS), and with it conf_cache,
# runc_src, integ and bats_timeout: the files must be in the suite that
# scripts/conformance/setup.sh unpacked, with its helpers built.
vm_bats() {
    local f
    bats_files=()
    [ -n "${PIVOT_VM_BATS:-}" ] || return 0
    conf_cache=${PIVOT_CONFORMANCE_CACHE:-/var/cache/pivot-conformance}
    runc_src=$conf_cache/gopath/src/github.com/opencontainers/runc
    integ=$runc_src/tests/integration
    [ -f "$integ/helpers.bash" ] && [ -x "$runc_src/contrib/cmd/recvtty/recvtty" ] &&
        [ -f "$integ/testdata/busybox-amd64.tar.xz" ] && [ -x "$conf_cache/bin/subreaper" ] ||
        die "runc's integration suite is not ready in $conf_cache: run scripts/conformance/setup.sh"
    for f in $PIVOT_VM_BATS; do
        f=$(basename "$f")
        [ -f "$integ/$f" ] || die "PIVOT_VM_BATS: no $f in $integ"
        bats_files+=("$f")
    done
    bats_timeout=${PIVOT_VM_BATS_TIMEOUT:-600}
    [[ $bats_timeout =~ ^[0-9]+$ ]] || die "PIVOT_VM_BATS_TIMEOUT must be a number of seconds"
}

# vm_bats_tree ROOT: runc's bats suite at ROOT/runc, laid out as in runc's
# source (helpers.bash finds recvtty and the others at ../../contrib/cmd
# from its own directory), and at ROOT/usr/local/bin/go a stand-in for
# `go env GOARCH` (and GOARM), which get-images.sh asks. The debian image
# goes in only for files that use it; otherwise an empty file keeps
# get-images.sh from trying to download it.
vm_bats_tree() {
    local dest=$1 cmd bin
    say "adding runc's bats suite ($(cat "$runc_src/.pivot-conformance-source" 2>/dev/null || echo runc)): ${bats_files[*]}"
    mkdir -p "$dest/runc/tests" "$dest/runc/contrib/cmd" "$dest/usr/local/bin"
    cp -a "$integ" "$dest/runc/tests/"
    cp "$runc_src/.pivot-conformance-source" "$dest/runc/" 2>/dev/null || true
    rm -f "$dest/runc/tests/integration/testdata/debian-amd64.tar.xz"
    if grep -q -e setup_debian -e DEBIAN_IMAGE $(printf "$integ/%s " "${bats_files[@]}"); then
        cp -a "$integ/testdata/debian-amd64.tar.xz" "$dest/runc/tests/integration/testdata/"
    else
        : >"$dest/runc/tests/integration/testdata/debian-amd64.tar.xz"
    fi
    for cmd in recvtty sd-helper seccompagent; do
        bin=$runc_src/contrib/cmd/$cmd/$cmd
        [ -x "$bin" ] && install -D -m 0755 "$bin" "$dest/runc/contrib/cmd/$cmd/$cmd"
    done
    cat >"$dest/usr/local/bin/go" <<'GOEOF'
#!/bin/sh
# pivot-vm: a stand-in for `go env GOARCH` (and GOARM), which runc's
# tests/integration/get-images.sh asks; no Go toolchain in the VM.
if [ "$1" = env ] && [ $# -eq 2 ]; then
    case $2 in
        GOARCH) echo amd64; exit 0 ;;
        GOARM) echo; exit 0 ;;
    esac
fi
echo "go: not in the pivot VM (only go env GOARCH is answered)" >&2
exit 1
GOEOF
    chmod 0755 "$dest/usr/local/bin/go"
}

# vm_build: builds static pivot, probe and (without bats files, and unless
# vm_no_suite names what pivot is for instead) the suite
# and noopenat2, which the suite runs from the absolute path cargo compiled
# into it, in target/vm; sets release, and blackbox and noopenat2 (the
# executables cargo reported). Uses $tmp.
vm_build() {
    if [ ${#bats_files[@]} -gt 0 ] && [ -z "${vm_no_suite:-}" ]; then
        vm_no_suite="runc's bats suite"
    fi
    if [ -n "${vm_no_suite:-}" ]; then
        say "building pivot and probe (static, target/vm) for $vm_no_suite"
    else
        say "building pivot, probe and the black-box suite (static, target/vm)"
    fi
    local triple=x86_64-unknown-linux-gnu target_dir=$root/target/vm
    RUSTFLAGS="-C target-feature=+crt-static" LIBSECCOMP_LINK_TYPE=static \
        LIBSECCOMP_LIB_PATH=/usr/lib/x86_64-linux-gnu \
        cargo build --release --target $triple --target-dir "$target_dir" -p pivot -p probe
    release=$target_dir/$triple/release
    [ -z "${vm_no_suite:-}" ] || return 0
    RUSTFLAGS="-C target-feature=+crt-static" LIBSECCOMP_LINK_TYPE=static \
        LIBSECCOMP_LIB_PATH=/usr/lib/x86_64-linux-gnu \
        cargo test --no-run --release -p pivot-tests --test blackbox --target $triple \
        --target-dir "$target_dir" --message-format json-render-diagnostics >"$tmp/cargo.json"
    artifact() { # NAME KIND: the executable cargo reported for that target
        grep '"reason":"compiler-artifact"' "$tmp/cargo.json" |
            grep "\"kind\":\[\"$2\"\][^}]*\"name\":\"$1\"" |
            sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1
    }
    blackbox=$(artifact blackbox test)
    noopenat2=$(artifact noopenat2 bin)
    [ -x "$blackbox" ] || die "cannot find the blackbox test binary in cargo's output"
    [ -x "$noopenat2" ] || die "cannot find the noopenat2 binary in cargo's output"
}

# vm_install_suite ROOT BINDIR: pivot, probe and (when vm_build built it)
# the suite into ROOT/BINDIR, and noopenat2 at its build path under ROOT.
vm_install_suite() {
    install -D -m 0755 "$release/pivot" "$1$2/pivot"
    install -m 0755 "$release/probe" "$1$2/probe"
    if [ -z "${vm_no_suite:-}" ]; then
        install -m 0755 "$blackbox" "$1$2/blackbox"
        install -D -m 0755 "$noopenat2" "$1$noopenat2"
    fi
}

# vm_boot WHAT QEMU-ARGS...: boots QEMU (2 vCPUs, 2 GiB, no network, the
# serial console on stdout, $kernel with QEMU-ARGS) for at most
# PIVOT_VM_TIMEOUT seconds (timeout_s), then exits with the code the VM
# reported (PIVOT-VM-RESULT: exit N), 124 when it timed out, 3 when it died;
# the last line is the suite's closing line. WHAT describes the host in
# the closing message. --foreground keeps QEMU in this script's process
# group: an interrupt or a kill of the script's group stops the VM too.
vm_boot() {
    local what=$1 start vm_rc took rc closing
    shift
    start=$(date +%s)
    set +e
    TMPDIR=$tmp timeout --foreground -k 10 "$timeout_s" "$qemu" \
        "${accel_opts[@]}" -smp 2 -m 2048 \
        -nodefaults -display none -no-reboot -nic none \
        -serial stdio -kernel "$kernel" "$@" \
        </dev/null 2>&1 | sed -u 's/\r$//' | tee "$tmp/serial.log"
    vm_rc=${PIPESTATUS[0]}
    set -e
    took=$(($(date +%s) - start))
    rc=$(sed -n 's/^PIVOT-VM-RESULT: exit \([0-9]*\)$/\1/p' "$tmp/serial.log" | tail -n 1)
    closing=$(grep -E '^test result: ' "$tmp/serial.log" | tail -n 1 || true)
    echo
    if [ -z "$rc" ]; then
        if [ "$vm_rc" -eq 124 ] || [ "$vm_rc" -eq 137 ]; then
            say "the VM did not finish within ${timeout_s}s: stopped (PIVOT_VM_TIMEOUT raises the bound)"
            rc=124
        else
            say "the VM stopped (qemu exit $vm_rc) without reporting the suite's result: see the console above"
            rc=3
        fi
    else
        say "suite exit code $rc inside the VM; VM ran ${took}s ($accel, kernel $kver, $what)"
    fi
    [ -n "$closing" ] && echo "$closing"
    exit "$rc"
}
