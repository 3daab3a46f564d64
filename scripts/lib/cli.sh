# shellcheck shell=bash
# The command line every harness shares (scripts/conformance/run.sh,
# scripts/containerd/run.sh, scripts/podman/run.sh and rootless.sh):
# messages start with the script's name.
#
# Sourced, not run:
#   . scripts/lib/cli.sh
#   usage                  # the comment at the top of the script, to `set -`
#   unknown_option OPT     # says so, the usage on stderr, exit 2
#   runtime_arg VAR ARG    # the one runtime binary into VAR; a second: exit 2
#   require_root WHY       # exit 2 unless run as root, saying WHY
#   runtime_binary VAR     # the runtime under test, absolute, into VAR
#   probe_binary           # PROBE_BIN set, the probe built if missing

usage() { sed -n '2,/^set -/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }

unknown_option() {
    echo "${0##*/}: unknown option $1" >&2
    usage >&2
    exit 2
}

runtime_arg() {
    if [ -n "${!1}" ]; then
        echo "${0##*/}: one runtime binary only (${!1}, $2)" >&2
        exit 2
    fi
    printf -v "$1" %s "$2"
}

require_root() {
    if [ "$(id -u)" != 0 ]; then
        echo "${0##*/}: $1" >&2
        exit 2
    fi
}

# runtime_binary VAR: the runtime under test, as an absolute path, into
# VAR: VAR's value (a path, or a name on PATH), or pivot's release build
# (built if missing). Exit 2 if that is no executable file. Needs $repo.
runtime_binary() {
    local bin=${!1} found
    if [ -z "$bin" ]; then
        bin=$repo/target/x86_64-unknown-linux-gnu/release/pivot
        if [ ! -x "$bin" ]; then
            echo "${0##*/}: building pivot (cargo build --release -p pivot)" >&2
            (cd "$repo" && cargo build --release -p pivot) >&2 || exit 2
        fi
    fi
    if [ ! -x "$bin" ]; then
        found=$(command -v "$bin" || true)
        [ -n "$found" ] && bin=$found
    fi
    if [ ! -x "$bin" ] || [ ! -f "$bin" ]; then
        echo "${0##*/}: $bin: not an executable file" >&2
        exit 2
    fi
    printf -v "$1" %s "$(readlink -f "$bin")"
}

# probe_binary: PROBE_BIN, by default probe's release build (built if
# missing). Needs $repo.
probe_binary() {
    PROBE_BIN=${PROBE_BIN:-$repo/target/x86_64-unknown-linux-gnu/release/probe}
    if [ ! -x "$PROBE_BIN" ]; then
        echo "${0##*/}: building the probe (cargo build --release -p probe)" >&2
        (cd "$repo" && cargo build --release -p probe) >&2 || exit 2
    fi
}
