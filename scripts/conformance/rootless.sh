#!/usr/bin/env bash
# Runs runc's integration suite rootless, as runc's tests/rootless.sh does:
# bats as an unprivileged user, once per feature set ("mode"), through
# scripts/conformance/run.sh. Unlike tests/rootless.sh it changes nothing
# of the host but what it undoes: the user is made for the run (pvrc<pid>,
# no home, no subordinate ids of its own), the idmap mode gives it the
# /etc/subuid and /etc/subgid lines tests/rootless.sh gives its user
# "rootless" (100000:65536 and 200000:65536) and the directory cwd.bats
# needs (AUX_DIR, owned by the id the container's uid 1024 maps to); the
# plain mode gives it none (tests/rootless.sh renames newuidmap away
# instead: here the user simply has no ranges). At the end, also on a
# failure or a signal: the user's processes killed by pid, the lines and
# AUX_DIR removed, the user removed. The cgroup feature (cgroups delegated
# to the user's group under /sys/fs/cgroup/*/runc-cgroups-integration-test)
# is not run.
#
# usage: scripts/conformance/rootless.sh [OPTIONS] [RUNTIME_BINARY] [FILE.bats ...]
#   --modes LIST    comma-separated: plain, idmap (default: plain,idmap)
#   other options (--filter, --test-timeout, --timeout) go to run.sh
# Results: target/conformance-rootless/MODE/<runtime name> (run.sh's
# summary.tsv, TAP logs, total.txt). Exit status: 0 when every mode ran
# (failed tests are reported, not fatal), 2 harness error.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/cli.sh
. "$repo/scripts/lib/cli.sh"
# shellcheck source=../lib/testuser.sh
. "$repo/scripts/lib/testuser.sh"

modes=plain,idmap
pass=()
runtime=
while [ $# -gt 0 ]; do
    case $1 in
    -h | --help) usage; exit 0 ;;
    --modes) modes=$2; shift ;;
    --modes=*) modes=${1#*=} ;;
    --filter | --test-timeout | --timeout) pass+=("$1" "$2"); shift ;;
    -*) pass+=("$1") ;;
    *.bats) pass+=("$1") ;;
    *) runtime=$1 ;;
    esac
    shift
done
require_root "must run as root (it makes and removes the user)"
if [ -z "$runtime" ]; then
    runtime=$repo/target/x86_64-unknown-linux-gnu/release/pivot
    [ -x "$runtime" ] || (cd "$repo" && cargo build --release -p pivot) >&2 || exit 2
fi
runtime=$(readlink -f "$runtime")
name=$(basename "$runtime")

aux=
cleaned=0
cleanup() {
    [ "$cleaned" = 1 ] && return 0
    cleaned=1
    testuser_remove
    [ -n "$aux" ] && { rmdir "$aux" 2>/dev/null || TESTUSER_LEFT+=("directory $aux"); }
    if [ ${#TESTUSER_LEFT[@]} -gt 0 ]; then
        printf 'rootless.sh: left behind: %s\n' "${TESTUSER_LEFT[@]}" >&2
        return 1
    fi
    return 0
}
trap 'cleanup' EXIT
trap 'echo "rootless.sh: interrupted; cleaning up" >&2; cleanup; exit 2' INT TERM HUP

# no subordinate ids of its own (SUB_*_COUNT=0): the modes decide
testuser_make "pvrc$$" -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 --no-create-home \
    --home-dir /nonexistent --shell /usr/sbin/nologin || exit 2
U=$TESTUSER

rc=0
IFS=, read -ra mode_list <<<"$modes"
for mode in "${mode_list[@]}"; do
    testuser_drop_subids
    unset ROOTLESS_UIDMAP_START ROOTLESS_UIDMAP_LENGTH ROOTLESS_GIDMAP_START ROOTLESS_GIDMAP_LENGTH AUX_UID AUX_DIR
    case $mode in
    plain) features= ;;
    idmap)
        features=idmap+
        export ROOTLESS_UIDMAP_START=100000 ROOTLESS_UIDMAP_LENGTH=65536
        export ROOTLESS_GIDMAP_START=200000 ROOTLESS_GIDMAP_LENGTH=65536
        testuser_subids "$ROOTLESS_UIDMAP_START:$ROOTLESS_UIDMAP_LENGTH" \
            "$ROOTLESS_GIDMAP_START:$ROOTLESS_GIDMAP_LENGTH"
        # cwd.bats: a directory owned by the host id of the container's
        # uid 1024 (uidMappings' containerID 1000 is ROOTLESS_UIDMAP_START)
        export AUX_UID=1024
        aux=$(mktemp -d /tmp/pivot-rootless-aux.XXXXXX)
        chown "$((ROOTLESS_UIDMAP_START - 1000 + AUX_UID))" "$aux"
        export AUX_DIR=$aux
        ;;
    *) echo "rootless.sh: unknown mode $mode (plain, idmap)" >&2; rc=2; continue ;;
    esac
    echo "===== rootless mode: $mode (ROOTLESS_FEATURES=${features:-none}) ====="
    ROOTLESS_FEATURES=$features PIVOT_CONFORMANCE_USER=$U bash "$here/run.sh" --report-only \
        --results "$repo/target/conformance-rootless/$mode/$name" "${pass[@]}" "$runtime" || rc=2
    if [ -n "$aux" ]; then
        rmdir "$aux" 2>/dev/null
        aux=
    fi
done
cleanup || rc=2
exit $rc
