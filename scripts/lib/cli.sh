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
