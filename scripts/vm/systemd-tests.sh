#!/bin/bash
# Runs in the systemd test VM as pivot-tests.service (scripts/vm/systemd.sh
# puts it at /pivot-vm/run on the payload disk): installs the run's files
# from /pivot-vm/root, runs the black-box suite (or runc's bats files) as
# the run asked, prints
#   PIVOT-VM-RESULT: exit N
# on the serial console (this service's output) and returns, after which
# systemd powers the VM off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
say() { echo "pivot-vm: $*"; }
read -r up _ </proc/uptime
say "pivot-tests.service started ${up%.*}s after the kernel"
cp -a /pivot-vm/root/. / || {
    say "cannot copy the payload into the root"
    echo "PIVOT-VM-RESULT: exit 3"
    exit 0
}
kver=$(uname -r)
# The kernel's modules, with their modules.dep, for modprobe.
mkdir -p /usr/lib/modules && mount --bind -o ro /pivot-vm/modules /usr/lib/modules
[ -s /pivot-vm/modprobe ] && modprobe -a $(cat /pivot-vm/modprobe) 2>&1 | sed 's/^/pivot-vm: modprobe: /'

read -r up _ </proc/uptime
say "payload installed ${up%.*}s after the kernel; $(systemctl --version | head -n 1)"
say "kernel $kver: $(cat /proc/cmdline)"
say "system state: $(systemctl is-system-running 2>&1); failed units: $(systemctl --failed --plain --no-legend 2>&1 | cut -d' ' -f1 | tr '\n' ' ')"
say "tests run in $(cut -d: -f3 /proc/self/cgroup); cgroup2 controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
busctl --system status >/dev/null 2>&1 && say "system bus: $(busctl --system list --no-legend 2>/dev/null | wc -l) names" ||
    say "system bus: not reachable"

# The suite's arguments, one a line: filters (the suite runs once per
# filter, libtest taking one) and libtest flags (given to every run); and
# extra environment, VAR=VALUE a line.
filters=() flags=()
if [ -f /pivot-vm/args ]; then
    while IFS= read -r arg; do
        case $arg in
            -*) flags+=("$arg") ;;
            *) filters+=("$arg") ;;
        esac
    done </pivot-vm/args
fi
[ ${#filters[@]} -gt 0 ] || filters=("")
extra_env=()
[ -f /pivot-vm/env ] && mapfile -t extra_env </pivot-vm/env

# runc's bats suite (systemd.sh's PIVOT_VM_BATS): each file of
# /pivot-vm/bats from /runc/tests/integration, as
# scripts/conformance/run.sh runs it on a host (under a pseudo-terminal,
# below its subreaper with a time limit, in a clean environment with RUNC
# naming the runtime), with RUNC_USE_SYSTEMD=1 when PIVOT_TEST_SYSTEMD is
# 1. $1, if given, is bats' --filter. With /pivot-vm/bats-rootless
# (PIVOT_VM_BATS_ROOTLESS) bats runs as an unprivileged user instead, once
# per mode listed there (rootless_bats). Prints bats' TAP output, a summary
# and a closing line like libtest's; returns 0 when every test passed or
# was skipped, 1 otherwise.
# shellcheck source=guest.sh
. /pivot-vm/guest.sh
run_bats() {
    local runtime limit filter integ sd= mode
    runtime=$(cat /pivot-vm/bats-runtime)
    limit=$(cat /pivot-vm/bats-timeout)
    filter=${1:-}
    integ=/runc/tests/integration
    printf '%s\n' "${extra_env[@]}" | grep -qx 'PIVOT_TEST_SYSTEMD=1' && sd=1
    mkdir -p /tmp/bats-tmp /tmp/bats-results
    chmod 0755 /tmp/bats-tmp
    say "runc's bats suite ($(cat /runc/.pivot-conformance-source 2>/dev/null || echo runc)) against $runtime" \
        "($("$runtime" --version 2>&1 | head -n 1))${sd:+, RUNC_USE_SYSTEMD=1}"
    : >/tmp/bats-results/summary
    local tp=0 tf=0 ts=0 rc=0
    if [ -s /pivot-vm/bats-rootless ]; then
        if rootless_user; then
            for mode in $(cat /pivot-vm/bats-rootless); do
                rootless_mode "$mode"
                bats_files "$mode"
            done
        else
            rc=1
        fi
        bats_close "$(tr '\n' ' ' </pivot-vm/bats | sed 's/ $//')" \
            "RUNC=$runtime${sd:+ RUNC_USE_SYSTEMD=1}, rootless as $ru_name: $(tr '\n' ' ' </pivot-vm/bats-rootless | sed 's/ $//')"
    else
        as_user=() user_env=() tmpdir=/tmp/bats-tmp home=/root
        bats_files ""
        bats_close "$(tr '\n' ' ' </pivot-vm/bats | sed 's/ $//')" "RUNC=$runtime${sd:+ RUNC_USE_SYSTEMD=1}"
    fi
    return $rc
}

# bats_files MODE: every file of /pivot-vm/bats, run as run_bats says (as
# the user of as_user, with user_env, when rootless), its results counted
# (the TAP file and the summary name MODE, if any).
bats_files() {
    local f tap expected brc mode=$1
    for f in $(cat /pivot-vm/bats); do
        tap=/tmp/bats-results/${mode:+$mode-}${f%.bats}.tap
        expected=$(cd $integ && env -i PATH="$PATH" F="$filter" bash -c 'bats --count ${F:+--filter "$F"} "$0"' "$f" 2>&1)
        case $expected in '' | *[!0-9]*) expected=0 ;; esac
        say "bats --tap --timing $f${filter:+ --filter $filter}${mode:+ (rootless, $mode)} ($expected tests; at most ${limit}s)"
        (cd $integ && exec "${as_user[@]}" env -i HOME="$home" TERM=xterm PATH="$PATH" TMPDIR="$tmpdir" RUNC="$runtime" \
            ${sd:+RUNC_USE_SYSTEMD=1} "${user_env[@]}" F="$filter" SHELL=/bin/bash \
            subreaper -t "$limit" script -qefc "bats --tap --timing \${F:+--filter \"\$F\"} $f" /dev/null) \
            </dev/null 2>&1 | tr -d '\r' | tee "$tap"
        brc=${PIPESTATUS[0]}
        bats_tally "${mode:+$mode:}$f" "$tap" "$expected" "$brc"
    done
}

# rootless_user: the user bats runs as (pvrb, no home, no subordinate ids
# of its own: the modes decide), its systemd instance user@UID.service
# started and its session bus up (systemd-user-session.sh), as a login
# would have it; sets ru_name, ru_uid, as_user and home.
rootless_user() {
    local i ctl
    ru_name=pvrb
    useradd --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --user-group \
        -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 "$ru_name" || {
        say "useradd $ru_name failed"
        return 1
    }
    ru_uid=$(id -u "$ru_name")
    systemctl start "user@$ru_uid.service" || {
        say "systemctl start user@$ru_uid.service failed"
        return 1
    }
    for i in $(seq 1 300); do
        [ -S "/run/user/$ru_uid/bus" ] && break
        sleep 0.2
    done
    [ -S "/run/user/$ru_uid/bus" ] || {
        say "no session bus at /run/user/$ru_uid/bus after starting user@$ru_uid.service"
        return 1
    }
    ctl=/sys/fs/cgroup/user.slice/user-$ru_uid.slice/user@$ru_uid.service/cgroup.controllers
    say "rootless: user $ru_name ($ru_uid), user@$ru_uid.service $(systemctl is-active "user@$ru_uid.service"), controllers delegated to it: $(cat "$ctl" 2>/dev/null)"
    # bats' temporary files are the user's (run.sh's PIVOT_CONFORMANCE_USER)
    tmpdir=/tmp/bats-user home=/tmp/bats-user
    mkdir -p "$tmpdir"
    chown "$ru_name:" "$tmpdir"
    chmod 0755 "$tmpdir"
    as_user=(setpriv --reuid "$ru_uid" --regid "$(id -g "$ru_name")" --clear-groups)
}

# rootless_mode MODE: the user's subordinate ids and bats' environment for
# MODE, as scripts/conformance/rootless.sh: plain, no ids; idmap,
# 100000:65536 and 200000:65536 and the directory cwd.bats needs (AUX_DIR,
# owned by the host id of the container's uid 1024); sets user_env.
rootless_mode() {
    local aux
    sed -i "/^$ru_name:/d" /etc/subuid /etc/subgid
    user_env=(USER="$ru_name" LOGNAME="$ru_name" XDG_RUNTIME_DIR="/run/user/$ru_uid"
        DBUS_SESSION_BUS_ADDRESS="unix:path=/run/user/$ru_uid/bus")
    case $1 in
        plain) user_env+=(ROOTLESS_FEATURES=) ;;
        idmap)
            echo "$ru_name:100000:65536" >>/etc/subuid
            echo "$ru_name:200000:65536" >>/etc/subgid
            aux=$(mktemp -d /tmp/pivot-rootless-aux.XXXXXX)
            chown $((100000 - 1000 + 1024)) "$aux"
            user_env+=(ROOTLESS_FEATURES=idmap+ ROOTLESS_UIDMAP_START=100000 ROOTLESS_UIDMAP_LENGTH=65536
                ROOTLESS_GIDMAP_START=200000 ROOTLESS_GIDMAP_LENGTH=65536 AUX_UID=1024 AUX_DIR="$aux")
            ;;
    esac
    say "rootless mode $1: ${user_env[*]}"
}

# The harnesses (systemd.sh's PIVOT_VM_HARNESS): scripts/containerd/run.sh
# and scripts/podman/run.sh from /pivot-src, against the runtime of
# /pivot-vm/harness-runtime, with systemd's cgroup manager when
# PIVOT_TEST_SYSTEMD is 1. Prints their output, and a closing line like
# libtest's summing up their steps; returns 0 when every step passed.
run_harness() {
    local runtime limit h out sd= mode tp=0 tf=0 ts=0 rc=0 r line
    runtime=$(cat /pivot-vm/harness-runtime)
    limit=$(cat /pivot-vm/harness-step-timeout)
    printf '%s\n' "${extra_env[@]}" | grep -qx 'PIVOT_TEST_SYSTEMD=1' && sd=1
    mkdir -p /tmp/harness
    for h in $(cat /pivot-vm/harness); do
        case $h in
            containerd) mode=${sd:+--systemd-cgroup} ;;
            podman) if [ -n "$sd" ]; then mode="--cgroup-manager systemd"; else mode="--cgroup-manager cgroupfs"; fi ;;
        esac
        say "scripts/$h/run.sh --no-setup --step-timeout $limit $mode $runtime"
        (cd /tmp/harness && exec env HOME=/root PROBE_BIN=/usr/bin/probe SUBREAPER=/usr/local/bin/subreaper \
            bash /pivot-src/scripts/$h/run.sh --no-setup --step-timeout "$limit" --keep-logs "/tmp/harness/$h-logs" \
            $mode "$runtime") </dev/null 2>&1 | tee "/tmp/harness/$h.log"
        r=${PIPESTATUS[0]}
        # what the failed steps did (their logs, kept by --keep-logs)
        for step in $(sed -n 's/^FAIL \([^:]*\):.*/\1/p' "/tmp/harness/$h.log"); do
            f=$(find "/tmp/harness/$h-logs" -name "$step.log" | head -n 1)
            [ -n "$f" ] || continue
            say "$h: the log of $step (last 40 lines):"
            tail -n 40 "$f" | sed "s/^/  $step| /"
        done
        line=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' "/tmp/harness/$h.log" | tail -n 1)
        say "$h: ${line:-no summary} (exit $r)"
        n() { echo "$line" | grep -oE "[0-9]+ $1" | grep -oE '^[0-9]+' || echo 0; }
        tp=$((tp + $(n passed))) tf=$((tf + $(n failed))) ts=$((ts + $(n skipped)))
        [ "$r" = 0 ] || rc=1
        [ -z "$line" ] && tf=$((tf + 1))
    done
    local verdict=ok
    [ "$rc" = 0 ] || verdict=FAILED
    echo "test result: $verdict. $tp passed; $tf failed; $ts skipped (harness steps: $(tr '\n' ' ' </pivot-vm/harness | sed 's/ $//'); runtime $runtime${sd:+, systemd cgroup manager})"
    return $rc
}

dmesg_before=$(dmesg -r 2>/dev/null | wc -l)
units_before=$(systemctl list-units --all --plain --no-legend 2>/dev/null | cut -d' ' -f1 | sort)
cd /tmp || exit 0
rc=0 passed=0 failed=0 ignored=0 secs=0
if [ -s /pivot-vm/bats ]; then
    run_bats "${filters[0]}"
    rc=$?
    filters=()
elif [ -s /pivot-vm/harness ]; then
    run_harness
    rc=$?
    filters=()
fi
for filter in "${filters[@]}"; do
    say "running the black-box suite: ${extra_env[*]} blackbox --color never ${flags[*]} $filter"
    env HOME=/root PIVOT_BIN=/usr/bin/pivot PROBE_BIN=/usr/bin/probe "${extra_env[@]}" \
        /usr/bin/blackbox --color never "${flags[@]}" ${filter:+"$filter"} 2>&1 | tee /tmp/pivot-vm-suite.log
    r=${PIPESTATUS[0]}
    [ "$r" -gt "$rc" ] && rc=$r
    if [ ${#filters[@]} -gt 1 ]; then
        line=$(grep -E '^test result: ' /tmp/pivot-vm-suite.log | tail -n 1)
        n() { echo "$line" | grep -oE "[0-9]+ $1" | grep -oE '^[0-9]+' || echo 0; }
        passed=$((passed + $(n passed))) failed=$((failed + $(n failed))) ignored=$((ignored + $(n ignored)))
        t=$(echo "$line" | grep -oE 'finished in [0-9]+' | grep -oE '[0-9]+$' || echo 0)
        secs=$((secs + t))
    fi
done
if [ ${#filters[@]} -gt 1 ]; then
    verdict=ok
    [ "$rc" -eq 0 ] || verdict=FAILED
    echo "test result: $verdict. $passed passed; $failed failed; $ignored ignored; 0 measured; 0 filtered out; finished in ${secs}s (filters: ${filters[*]})"
fi
cd /

# What the run left to systemd: units (transient scopes and slices) that
# were not there before, and cgroups named after the suite's containers.
units_after=$(systemctl list-units --all --plain --no-legend 2>/dev/null | cut -d' ' -f1 | sort)
new_units=$(comm -13 <(echo "$units_before") <(echo "$units_after") | grep -v -e '^session-' -e '^user' || true)
[ -n "$new_units" ] && say "units left after the run: $(echo "$new_units" | tr '\n' ' ')"
left_cgroups=$(find /sys/fs/cgroup -maxdepth 4 -type d -name '*pivot-t-*' 2>/dev/null)
[ -n "$left_cgroups" ] && say "cgroups left after the run: $(echo "$left_cgroups" | tr '\n' ' ')"
kernel_errors "$dmesg_before"
say "boot: $(systemd-analyze time 2>/dev/null | head -n 1)"
echo "PIVOT-VM-RESULT: exit $rc"
sync
exit 0
