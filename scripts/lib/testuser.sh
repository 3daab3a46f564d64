# shellcheck shell=bash
# A throwaway user for the rootless harnesses (scripts/podman/rootless.sh,
# scripts/conformance/rootless.sh), and all of it removed again.
#
# Sourced, not run:
#   . scripts/lib/testuser.sh
#   testuser_make NAME USERADD-OPTION...  # useradd --user-group; sets
#                                  # TESTUSER, TESTUSER_UID, TESTUSER_GID
#   testuser_subids UIDS GIDS      # /etc/subuid and /etc/subgid lines
#                                  # (START:COUNT each)
#   testuser_drop_subids           # its /etc/subuid and /etc/subgid lines out
#   testuser_pids                  # its live processes, one pid a line
#   testuser_kill                  # SIGKILL them (by pid, for up to 3 s)
#   testuser_remove                # its processes, the user (and its
#                                  # home), its subordinate-id lines
# What could not be removed is added to the array TESTUSER_LEFT ("user
# pvpm123", ...); testuser_remove returns 1 if anything is left. Nothing
# is ever matched by name: processes by uid, lines by "NAME:".

TESTUSER=
TESTUSER_UID=
TESTUSER_GID=
TESTUSER_LEFT=()

testuser_make() {
    local name=$1
    shift
    if ! useradd "$@" --user-group "$name" >&2; then
        echo "${0##*/}: useradd $name failed" >&2
        return 1
    fi
    TESTUSER=$name
    TESTUSER_UID=$(id -u "$name")
    TESTUSER_GID=$(id -g "$name")
}

testuser_subids() {
    echo "$TESTUSER:$1" >>/etc/subuid
    echo "$TESTUSER:$2" >>/etc/subgid
}

testuser_drop_subids() {
    local f
    [ -n "$TESTUSER" ] || return 0
    for f in /etc/subuid /etc/subgid; do
        if grep -q "^$TESTUSER:" "$f" 2>/dev/null; then
            sed -i "/^$TESTUSER:/d" "$f" || TESTUSER_LEFT+=("$f line of $TESTUSER")
        fi
    done
    return 0
}

# by uid, never by name; a zombie is already dead
testuser_pids() {
    local p
    [ -n "$TESTUSER_UID" ] || return 0
    for p in /proc/[0-9]*; do
        [ "$(stat -c %u "$p" 2>/dev/null)" = "$TESTUSER_UID" ] || continue
        case $(sed 's/.*) //' "$p/stat" 2>/dev/null) in Z*) continue ;; esac
        echo "${p#/proc/}"
    done
}

testuser_kill() {
    local pid _
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        [ -z "$(testuser_pids)" ] && return 0
        for pid in $(testuser_pids); do kill -KILL "$pid" 2>/dev/null; done
        sleep 0.3
    done
    [ -z "$(testuser_pids)" ]
}

testuser_remove() {
    local before=${#TESTUSER_LEFT[@]}
    if [ -n "$TESTUSER" ]; then
        testuser_kill || TESTUSER_LEFT+=("processes $(testuser_pids | tr '\n' ' ')")
        userdel -r "$TESTUSER" >/dev/null 2>&1 || userdel "$TESTUSER" >/dev/null 2>&1
        id "$TESTUSER" >/dev/null 2>&1 && TESTUSER_LEFT+=("user $TESTUSER")
        testuser_drop_subids
    fi
    [ ${#TESTUSER_LEFT[@]} = "$before" ]
}
