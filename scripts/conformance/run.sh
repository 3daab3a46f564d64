#!/usr/bin/env bash
# Runs runc's own integration suite (bats, from Debian's runc 1.1.5 source
# package) against a runtime binary, offline, and reports the results per
# file and in total. See docs/CONFORMANCE.md.
#
# usage: scripts/conformance/run.sh [OPTIONS] [RUNTIME_BINARY] [FILE.bats ...]
#   RUNTIME_BINARY  default: pivot at target/x86_64-unknown-linux-gnu/release/pivot
#                   (built with `cargo build --release -p pivot` if missing)
#   FILE.bats       run only these files of tests/integration (default: all)
#   --filter REGEX  run only the tests whose name matches REGEX (bats --filter)
#   --report-only   exit 0 even when tests fail (still non-zero if the harness breaks)
#   --results DIR   where the TAP logs and summary go
#                   (default: target/conformance/<runtime name>)
#   --test-timeout SECS  a test that has not ended after SECS (default 60;
#                   the slowest test here takes 11 s)
#                   is unblocked: the runtime's processes are killed (and
#                   the suite's frozen cgroups thawed), so that test fails
#                   and the file goes on
#   --timeout SECS  time limit for one .bats file (default 900); tests a
#                   file did not get to report count as failed
#   -h, --help
# environment:
#   PIVOT_CONFORMANCE_CACHE  cache of what setup.sh makes (default /var/cache/pivot-conformance)
#   RUNC_SRC=DIR  run the suite of this runc source tree (a checkout or an
#                 unpacked release) instead of Debian's runc 1.1.5 one; see
#                 setup.sh
#   PIVOT_CONFORMANCE_USER=NAME  run bats as this (existing) user, as
#                 runc's tests/rootless.sh does with its user "rootless"
#                 (ROOTLESS_FEATURES and ROOTLESS_UIDMAP_*/GIDMAP_*, AUX_UID
#                 and AUX_DIR are passed on); scripts/conformance/rootless.sh
#                 makes the user and sets the features up
#
# Prints one line per file and, last, the total as "N passed, N failed, N skipped".
# Exit status: 0 all passed (or --report-only), 1 some test failed, 2 harness error.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
CACHE=${PIVOT_CONFORMANCE_CACHE:-/var/cache/pivot-conformance}
SRC=$CACHE/gopath/src/github.com/opencontainers/runc
if [ -n "${RUNC_SRC:-}" ]; then
    # The copy setup.sh makes (and keeps up to date).
    RUNC_SRC=$(cd "$RUNC_SRC" && pwd -P) || exit 2
    export RUNC_SRC
    SRC=$CACHE/trees/$(printf '%s' "$RUNC_SRC" | sha256sum | cut -c1-12)/gopath/src/github.com/opencontainers/runc
fi
INTEG=$SRC/tests/integration

report_only=0
results=
file_timeout=900
filter=
test_timeout=60
runtime=
files=()
# shellcheck source=../lib/cli.sh
. "$repo/scripts/lib/cli.sh"
while [ $# -gt 0 ]; do
    case $1 in
    --report-only) report_only=1 ;;
    --results) results=$2; shift ;;
    --results=*) results=${1#*=} ;;
    --filter) filter=$2; shift ;;
    --filter=*) filter=${1#*=} ;;
    --test-timeout) test_timeout=$2; shift ;;
    --test-timeout=*) test_timeout=${1#*=} ;;
    --timeout) file_timeout=$2; shift ;;
    --timeout=*) file_timeout=${1#*=} ;;
    -h | --help) usage; exit 0 ;;
    -*) unknown_option "$1" ;;
    *.bats) files+=("$(basename "$1")") ;;
    *) runtime_arg runtime "$1" ;;
    esac
    shift
done

require_root "runc's integration suite runs as root"

t_setup=$(date +%s)
bash "$here/setup.sh"
t_setup=$(($(date +%s) - t_setup))

runtime_binary runtime
name=$(basename "$runtime")
: "${results:=$repo/target/conformance/$name}"

if [ ${#files[@]} -eq 0 ]; then
    for f in "$INTEG"/*.bats; do files+=("$(basename "$f")"); done
fi
for f in "${files[@]}"; do
    if [ ! -f "$INTEG/$f" ]; then
        echo "run.sh: $f: no such file in $INTEG" >&2
        exit 2
    fi
done

# One run at a time on a machine: the suite's cgroup paths and container
# ids are fixed, so two runs would trip over each other (a container of the
# other run in "our" cgroup: "container's cgroup is not empty"). The lock is
# the machine's, not the cache's: a run with another PIVOT_CONFORMANCE_CACHE
# waits too.
exec 9>/run/lock/pivot-conformance.lock
if ! flock -n 9; then
    echo "run.sh: waiting for another conformance run to finish" >&2
    flock 9
fi

run_tmp=$(mktemp -d /tmp/pivot-conformance.XXXXXX)
# userns.bats maps the container's root to other users, who must reach the bundle
chmod 0755 "$run_tmp"
mkdir -p "$run_tmp/bin" "$run_tmp/tmp"
chmod 0755 "$run_tmp/bin" "$run_tmp/tmp"
# bats as another user (rootless): its temporary files are the user's
as_user=
if [ -n "${PIVOT_CONFORMANCE_USER:-}" ]; then
    chown "$PIVOT_CONFORMANCE_USER:" "$run_tmp/tmp"
    as_user="setpriv --reuid $(id -u "$PIVOT_CONFORMANCE_USER") --regid $(id -g "$PIVOT_CONFORMANCE_USER") --clear-groups env -u XDG_RUNTIME_DIR HOME=$run_tmp/tmp USER=$PIVOT_CONFORMANCE_USER LOGNAME=$PIVOT_CONFORMANCE_USER "
fi
# A snapshot of the binary: a rebuild during the run must not change it.
cp "$runtime" "$run_tmp/bin/$name"
RUNC=$run_tmp/bin/$name

cgroups_before=$run_tmp/cgroups.before
find /sys/fs/cgroup -mindepth 2 -type d 2>/dev/null | sort >"$cgroups_before" || true

# Unmount whatever the tests left mounted below our directory (the host's
# mount table is otherwise untouched), deepest first.
cleanup_mounts() {
    local m left=0
    for m in $(awk -v d="$run_tmp/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || left=1
    done
    return $left
}

# The suite's own cgroups: those that appeared during this run and are
# under runc-cgroups-integration-test or named after one of its container
# ids (test*, ct<N>). Deepest first.
suite_cgroups() {
    local after d
    after=$(find /sys/fs/cgroup -mindepth 2 -type d 2>/dev/null | sort || true)
    comm -13 "$cgroups_before" <(printf '%s\n' "$after") | sort -r | while read -r d; do
        [ -n "$d" ] && [ -d "$d" ] || continue
        case $d in
        */runc-cgroups-integration-test | */runc-cgroups-integration-test/*) ;;
        *) [[ $(basename "$d") =~ ^(test.*|ct[0-9]+)$ ]] || continue ;;
        esac
        echo "$d"
    done
}

# Thaw the suite's frozen cgroups: a SIGKILL does not land on a frozen task.
thaw_suite_cgroups() {
    local d
    for d in $(suite_cgroups); do
        if [ -f "$d/freezer.state" ] && [ "$(cat "$d/freezer.state" 2>/dev/null)" != THAWED ]; then
            echo THAWED >"$d/freezer.state" 2>/dev/null || true
        fi
        if [ -f "$d/cgroup.freeze" ] && [ "$(cat "$d/cgroup.freeze" 2>/dev/null)" = 1 ]; then
            echo 0 >"$d/cgroup.freeze" 2>/dev/null || true
        fi
    done
}

# SIGKILL every process running the runtime snapshot (runc init, pivot's
# container init before its exec, a runtime command that hangs).
kill_runtime_processes() {
    local p n=0
    for p in /proc/[0-9]*; do
        if [ "$(readlink "$p/exe" 2>/dev/null)" = "$RUNC" ]; then
            kill -9 "${p#/proc/}" 2>/dev/null && n=$((n + 1))
        fi
    done
    echo "$n"
}

# Remove the cgroups the suite's containers left behind (rmdir only: a
# cgroup that still holds a process stays, and is reported).
cleanup_cgroups() {
    local d i
    thaw_suite_cgroups
    for d in $(suite_cgroups); do
        for i in 1 2 3 4 5 6 7 8 9 10; do
            [ -z "$(cat "$d/cgroup.procs" 2>/dev/null)" ] && break
            [ "$i" = 1 ] && kill_runtime_processes >/dev/null
            sleep 0.2
        done
        rmdir "$d" 2>/dev/null || echo "run.sh: could not remove cgroup $d (still holds: $(cat "$d/cgroup.procs" 2>/dev/null | tr '\n' ' '))" >&2
    done
}

# Host state the suite changes and does not always restore:
# checkpoint.bats writes /etc/criu/default.conf and leaves
# /tmp/runc-criu-*.conf when it fails; it may add a network namespace.
save_host_state() {
    mkdir -p "$run_tmp/saved"
    [ -d /etc/criu ] && touch "$run_tmp/saved/etc-criu-existed"
    [ -e /etc/criu/default.conf ] && cp -a /etc/criu/default.conf "$run_tmp/saved/criu-default.conf"
    ls -d /tmp/runc-criu-* 2>/dev/null | sort >"$run_tmp/saved/tmp-criu" || true
    ip netns list 2>/dev/null | awk '{ print $1 }' | sort >"$run_tmp/saved/netns" || true
    awk '$5 == "/run/netns"' /proc/self/mountinfo >"$run_tmp/saved/run-netns-mount"
    save_devices
}
# exec.bats "runc exec --user vs /dev/null ownership" catches runtimes that
# chown the host's /dev/null (runc#3674); put the host's device nodes back
# after every file, and say so.
host_devices="/dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty /dev/ptmx"
save_devices() { stat -c '%n %u %g %a' $host_devices >"$run_tmp/saved/devices" 2>/dev/null || true; }
restore_devices() { # FILE.bats
    local n u g a cu cg ca
    while read -r n u g a; do
        read -r cu cg ca < <(stat -c '%u %g %a' "$n" 2>/dev/null) || continue
        if [ "$cu:$cg:$ca" != "$u:$g:$a" ]; then
            chown "$u:$g" "$n" && chmod "$a" "$n"
            echo "$1: changed the host's $n to $cu:$cg mode $ca (restored to $u:$g mode $a)" >>"$results/host-changes.log"
        fi
    done <"$run_tmp/saved/devices"
}

restore_host_state() {
    local f n
    [ -d "$run_tmp/saved" ] || return 0
    [ -d "$results" ] && restore_devices "(end of run)"
    if [ -e "$run_tmp/saved/criu-default.conf" ]; then
        cp -a "$run_tmp/saved/criu-default.conf" /etc/criu/default.conf
    else
        rm -f /etc/criu/default.conf
        [ -e "$run_tmp/saved/etc-criu-existed" ] || rmdir /etc/criu 2>/dev/null || true
    fi
    for f in $(ls -d /tmp/runc-criu-* 2>/dev/null | sort | comm -13 "$run_tmp/saved/tmp-criu" -); do
        rm -rf --one-file-system "$f"
    done
    for n in $(ip netns list 2>/dev/null | awk '{ print $1 }' | sort | comm -13 "$run_tmp/saved/netns" -); do
        ip netns del "$n" || true
    done
    if [ ! -s "$run_tmp/saved/run-netns-mount" ] && [ -z "$(ip netns list 2>/dev/null)" ]; then
        while awk '$5 == "/run/netns" { f = 1 } END { exit !f }' /proc/self/mountinfo; do
            umount /run/netns || break
        done
    fi
}

finish() {
    local rc=$?
    [ -n "${STEPS_PID:-}" ] && kill "$STEPS_PID" 2>/dev/null
    cleanup_mounts || true
    cleanup_cgroups || true
    restore_host_state || true
    if [ -n "$(awk -v d="$run_tmp/" 'index($5, d) == 1' /proc/self/mountinfo)" ]; then
        echo "run.sh: mounts remain below $run_tmp; not removing it" >&2
    else
        rm -rf --one-file-system "$run_tmp"
    fi
    exit $rc
}
trap finish EXIT
trap 'exit 130' INT TERM
save_host_state

# Watches one file's TAP output (bats prints a line as each test ends); when
# nothing has come for $test_timeout seconds, unblocks the stuck test.
watchdog() {
    local raw=$1 runner=$2 file=$3 expected=$4 size last=-1 since now n ended what running
    set +e
    since=$(date +%s)
    while kill -0 "$runner" 2>/dev/null; do
        sleep 2
        size=$(stat -c %s "$raw" 2>/dev/null || echo 0)
        now=$(date +%s)
        if [ "$size" != "$last" ]; then
            last=$size since=$now
        elif [ $((now - since)) -ge "$test_timeout" ]; then
            ended=$(tr -d '\r' <"$raw" | grep -cE '^(not )?ok ')
            what="test $((ended + 1)) (or its teardown) had not ended"
            [ "$ended" -ge "$expected" ] && what="bats had not exited after its last test (a leftover process held its output)"
            running=$(pgrep -af "^$RUNC " | cut -d' ' -f2- | sed "s|^$RUNC|$(basename "$RUNC")|; s|--root [^ ]* ||" | sort -u | head -n3 | paste -sd';')
            thaw_suite_cgroups
            n=$(kill_runtime_processes)
            echo "$file: after ${test_timeout}s, $what (runtime processes: ${running:-none}): thawed the suite's frozen cgroups, killed $n runtime process(es)" >>"$results/watchdog.log"
            since=$now
        fi
    done
}

mkdir -p "$results"
rm -f "$results"/*.tap "$results"/*.tap.raw "$results/summary.tsv" "$results/total.txt" \
    "$results/watchdog.log" "$results/host-changes.log"
summary=$results/summary.tsv # file, result (pass/fail/skip), test name, note, milliseconds
: >"$summary"
suite_version=$(cat "$SRC/.pivot-conformance-source")
runtime_version=$("$RUNC" --version 2>&1 | head -n1 || true)

echo "runc integration suite ($suite_version) against $runtime ($runtime_version)"
printf '%-28s %6s %6s %6s %7s\n' FILE passed failed skipped seconds

export RUNC
export TMPDIR=$run_tmp/tmp
export PATH=$CACHE/bin/shims:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export TERM=${TERM:-xterm}
unset RUNC_USE_SYSTEMD BATS_TEST_TIMEOUT
[ -n "$as_user" ] || unset ROOTLESS_FEATURES

# One file is one step of the step runner (scripts/lib/steps.sh), run in a
# subshell (its own time limit is the subreaper's); run_file records its
# tests in $summary and returns bats' exit status, file_row prints the
# file's line.
run_file() { # FILE.bats
    local f=$1 tap rc bats_args expected names
    tap=$results/${f%.bats}.tap
    bats_args=(--tap --timing)
    [ -n "$filter" ] && bats_args+=(--filter "$filter")
    expected=$(cd "$INTEG" && bats --count ${filter:+--filter "$filter"} "$f")
    # Under a pseudo-terminal, as runc's CI runs it (tests that keep
    # `terminal: true` need a controlling tty), below a subreaper (so the
    # orphans the tests make are reaped at once, and nothing outlives the
    # file), with a time limit per file (bats' own BATS_TEST_TIMEOUT hangs
    # events.bats).
    set +e
    (cd "$INTEG" && exec "$CACHE/bin/subreaper" -t "$file_timeout" \
        script -qefc "${as_user}bats ${bats_args[*]@Q} $(printf '%q' "$f")" /dev/null) </dev/null >"$tap.raw" 2>&1 9>&- &
    runner=$!
    watchdog "$tap.raw" "$runner" "$f" "$expected" 9>&- &
    watchdog_pid=$!
    # the harness stopped (a signal): so do the file's runner and watchdog
    trap 'kill "$watchdog_pid" "$runner" 2>/dev/null; exit 143' TERM
    wait "$runner"
    rc=$?
    kill "$watchdog_pid" 2>/dev/null
    wait "$watchdog_pid" 2>/dev/null
    watchdog_pid=
    set -e
    tr -d '\r' <"$tap.raw" >"$tap"
    rm -f "$tap.raw"
    cleanup_mounts || echo "run.sh: $f left mounts that could not be unmounted" >&2
    cleanup_cgroups
    restore_devices "$f"

    # TAP: "ok N name", "ok N name # skip (reason)", "not ok N name".
    names=$(grep -oE '^@test "([^"\\]|\\.)*"' "$INTEG/$f" | sed -E 's/^@test "(.*)"$/\1/' |
        { if [ -n "$filter" ]; then while IFS= read -r t; do if [[ $t =~ $filter ]]; then echo "$t"; fi; done; else cat; fi; })
    awk -v file="$f" -v expected="$expected" -v rc="$rc" -v names="$names" '
        BEGIN { OFS = "\t"; n = split(names, nm, "\n") }
        # bats -T: "ok N name in 12ms", "ok N name in 12ms # skip reason"
        function timed(t) {
            ms = ""
            if (match(t, / in [0-9]+ms$/)) { ms = substr(t, RSTART + 4, RLENGTH - 6); t = substr(t, 1, RSTART - 1) }
            return t
        }
        /^ok [0-9]+ / {
            num = $2; seen[num] = 1
            line = $0; sub(/^ok [0-9]+ /, "", line)
            if (match(line, / # [Ss][Kk][Ii][Pp]/)) {
                reason = substr(line, RSTART + RLENGTH); name = timed(substr(line, 1, RSTART - 1))
                sub(/^ *\(?/, "", reason); sub(/\)$/, "", reason)
                print file, "skip", name, reason, ms
            } else { name = timed(line); print file, "pass", name, "", ms }
            next
        }
        /^not ok [0-9]+ / {
            num = $3; seen[num] = 1
            line = $0; sub(/^not ok [0-9]+ /, "", line)
            name = timed(line)
            print file, "fail", name, "", ms
            next
        }
        END {
            for (i = 1; i <= expected; i++) if (!(i in seen)) {
                note = (rc == 124) ? "not run: the file hit its time limit" : "not run: bats stopped (exit " rc ")"
                print file, "fail", (i <= n ? nm[i] : "test " i), note, ""
            }
        }' "$tap" >>"$summary"
    return "$rc"
}
# The file's line: its tests' counts from $summary and the time it took.
file_row() { # FILE STATUS REASON SECONDS BATS-EXIT-STATUS
    local f=$1 p x s note w
    p=$(awk -F'\t' -v f="$f" '$1 == f && $2 == "pass"' "$summary" | wc -l)
    x=$(awk -F'\t' -v f="$f" '$1 == f && $2 == "fail"' "$summary" | wc -l)
    s=$(awk -F'\t' -v f="$f" '$1 == f && $2 == "skip"' "$summary" | wc -l)
    note=
    [ "$5" = 124 ] && note="  (time limit ${file_timeout}s hit)"
    w=$(grep -c "^$f: " "$results/watchdog.log" 2>/dev/null || true)
    [ "${w:-0}" -gt 0 ] && note="$note  (watchdog: unblocked ${w} time(s) after ${test_timeout}s, see watchdog.log)"
    grep -q "^$f: " "$results/host-changes.log" 2>/dev/null && note="$note  (changed the host's devices: restored, see host-changes.log)"
    # what the file's runner said (mounts it could not remove)
    [ -s "$STEPS_DIR/$f.log" ] && cat "$STEPS_DIR/$f.log" >&2
    printf '%-28s %6d %6d %6d %7d%s\n' "$f" "$p" "$x" "$s" "$4" "$note"
    total_p=$((total_p + p)) total_f=$((total_f + x)) total_s=$((total_s + s))
}
# shellcheck source=../lib/steps.sh
. "$repo/scripts/lib/steps.sh"
STEPS_REPORT=file_row
steps_init "$run_tmp/steps"

t_start=$(date +%s)
total_p=0 total_f=0 total_s=0
for f in "${files[@]}"; do
    step "$f" --shell -- run_file "$f" || true
done
t_end=$(date +%s)

if [ "$total_f" -gt 0 ]; then
    echo
    echo "failed tests (details in $results/<file>.tap):"
    awk -F'\t' '$2 == "fail" { printf "  %s: %s%s\n", $1, $3, ($4 != "" ? "  [" $4 "]" : "") }' "$summary"
fi
if [ -s "$results/host-changes.log" ]; then
    echo
    echo "host changes made by the tests (undone):"
    sed 's/^/  /' "$results/host-changes.log"
fi
echo
echo "time: setup ${t_setup}s, tests $((t_end - t_start))s; logs in $results"
echo "$total_p passed, $total_f failed, $total_s skipped" | tee "$results/total.txt"

if [ "$total_f" -gt 0 ] && [ "$report_only" = 0 ]; then
    exit 1
fi
exit 0
