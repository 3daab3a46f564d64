# shellcheck shell=bash
# The step runner of the harnesses (scripts/containerd/run.sh,
# scripts/podman/run.sh, scripts/conformance/run.sh): runs a named step
# with a time limit, times it, records ok / FAIL / skip, prints one line
# for it, and at the end a summary and the exit status.
#
# Sourced, not run:
#   . scripts/lib/steps.sh
#   steps_init DIR              # NAME.log, NAME.reason and steps.tsv go to DIR
#   step NAME [--needs STEP]... [--timeout SECS] [--shell] -- COMMAND...
#   steps_record NAME STATUS [REASON]   # a step the harness ran itself
#   steps_summary               # "N passed, N failed, N skipped (T s)"; returns 1 if any failed
#
# A step is COMMAND run in the background (so that a signal reaches the
# harness's trap at once; $STEPS_PID is its pid meanwhile) with stdin from
# /dev/null, stdout and stderr to DIR/NAME.log and fd 3 to DIR/NAME.reason,
# where it writes why it failed or was skipped. By default COMMAND is a
# string given to `bash -c` (after `set -uo pipefail`), so it sees the
# harness's exported functions and variables, under timeout(1) (-k 5) with
# $STEPS_TIMEOUT seconds (or --timeout SECS; 0: no limit); with --shell it
# is run as it is in a subshell of the harness (its functions and variables
# as they are, no time limit: the command keeps its own).
# Its exit status: 0 ok, 77 skip, 124 or 137 under a time limit: timed out,
# anything else: FAIL. A step whose --needs did not pass is skipped
# ("needs STEP") without running.
#
# Settings (variables, before the steps):
#   STEPS_TIMEOUT   seconds a step may run (default 60; 0: no limit)
#   STEPS_REASON    first or last (default): the line of NAME.reason that
#                   is the reason
#   STEPS_REPORT    the function that prints a step's result, called with
#                   NAME STATUS(ok|fail|skip) REASON SECONDS EXIT-STATUS
#                   (default steps_report_line: "ok NAME", "FAIL NAME:
#                   REASON", "skip NAME: REASON")
# Results: STEPS_RESULT[NAME] (ok, fail, skip), STEPS_SECONDS[NAME],
# steps_passed, steps_failed, steps_skipped, and DIR/steps.tsv (NAME,
# STATUS, seconds, reason: one line a step).

STEPS_TIMEOUT=${STEPS_TIMEOUT:-60}
STEPS_REASON=${STEPS_REASON:-last}
STEPS_REPORT=${STEPS_REPORT:-steps_report_line}
STEPS_DIR=
STEPS_PID=
declare -A STEPS_RESULT=() STEPS_SECONDS=()
steps_passed=0 steps_failed=0 steps_skipped=0
steps_t0=$(date +%s)

steps_init() { # DIR
    STEPS_DIR=$1
    mkdir -p "$STEPS_DIR" || return 2
    : >"$STEPS_DIR/steps.tsv"
    steps_t0=$(date +%s)
}

steps_report_line() { # NAME STATUS REASON SECONDS RC
    case $2 in
        ok) echo "ok $1" ;;
        skip) echo "skip $1: $3" ;;
        *) echo "FAIL $1: $3" ;;
    esac
}

# steps_record NAME STATUS [REASON [SECONDS [RC]]]: STATUS is ok, fail or
# skip, or an exit status as a step's.
steps_record() {
    local name=$1 status=$2 reason=${3:-} secs=${4:-0} rc=${5:-}
    case $status in
        ok | fail | skip) [ -n "$rc" ] || rc=$([ "$status" = ok ] && echo 0 || echo 1) ;;
        *)
            rc=$status
            case $rc in
                0) status=ok ;;
                77) status=skip ;;
                *) status=fail ;;
            esac
            ;;
    esac
    [ "$status" = fail ] && [ -z "$reason" ] && reason="exit status $rc"
    STEPS_RESULT[$name]=$status
    STEPS_SECONDS[$name]=$secs
    case $status in
        ok) steps_passed=$((steps_passed + 1)) ;;
        skip) steps_skipped=$((steps_skipped + 1)) ;;
        *) steps_failed=$((steps_failed + 1)) ;;
    esac
    [ -n "$STEPS_DIR" ] && [ -d "$STEPS_DIR" ] &&
        printf '%s\t%s\t%s\t%s\n' "$name" "$status" "$secs" "$(printf '%s' "$reason" | tr '\t\n' '  ')" >>"$STEPS_DIR/steps.tsv"
    "$STEPS_REPORT" "$name" "$status" "$reason" "$secs" "$rc"
}

step() { # NAME [--needs STEP]... [--timeout SECS] [--shell] -- COMMAND...
    local name=$1 limit=$STEPS_TIMEOUT shell=0 need rc reason t0 log rf
    local needs=()
    shift
    while [ $# -gt 0 ]; do
        case $1 in
            --needs) needs+=("$2"); shift 2 ;;
            --timeout) limit=$2; shift 2 ;;
            --shell) shell=1; shift ;;
            --) shift; break ;;
            *) break ;;
        esac
    done
    [ -n "$STEPS_DIR" ] || { echo "steps.sh: steps_init was not called" >&2; return 2; }
    for need in "${needs[@]}"; do
        if [ "${STEPS_RESULT[$need]:-}" != ok ]; then
            steps_record "$name" skip "needs $need"
            return 77
        fi
    done
    log=$STEPS_DIR/$name.log rf=$STEPS_DIR/$name.reason
    : >"$rf"
    t0=$(date +%s)
    if [ "$shell" = 1 ]; then
        ("$@") </dev/null >"$log" 2>&1 3>"$rf" &
    elif [ "$limit" = 0 ]; then
        bash -c "set -uo pipefail; $*" </dev/null >"$log" 2>&1 3>"$rf" &
    else
        timeout -k 5 "$limit" bash -c "set -uo pipefail; $*" </dev/null >"$log" 2>&1 3>"$rf" &
    fi
    STEPS_PID=$!
    wait "$STEPS_PID"
    rc=$?
    STEPS_PID=
    if [ "$STEPS_REASON" = first ]; then
        reason=$(grep -m 1 . "$rf")
    else
        reason=$(tail -n 1 "$rf")
    fi
    if [ "$shell" = 0 ] && [ "$limit" != 0 ] && { [ "$rc" = 124 ] || [ "$rc" = 137 ]; }; then
        reason="timed out after ${limit}s${reason:+ ($reason)}"
    fi
    steps_record "$name" "$rc" "$reason" $(($(date +%s) - t0)) "$rc"
    return "$rc"
}

steps_summary() {
    echo "$steps_passed passed, $steps_failed failed, $steps_skipped skipped ($(($(date +%s) - steps_t0)) s)"
    [ "$steps_failed" = 0 ]
}
