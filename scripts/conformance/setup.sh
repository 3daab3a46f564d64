#!/usr/bin/env bash
# Prepares, offline after the first time, everything runc's own integration
# suite (tests/integration/*.bats from Debian's runc source package) needs
# to run against any runtime binary. Idempotent: each piece is made once
# and kept in the cache directory; a second call only checks.
#
#   - Debian packages: bats, golang-go and the golang-*-dev packages the
#     helpers import (golang-github-opencontainers-runc-dev pulls them all),
#     busybox-static, debootstrap, gawk, jq, gcc, criu, ...
#   - runc's source (`apt-get source runc`, through a private deb-src list
#     for the mirror the machine already uses: /etc/apt is not touched),
#     unpacked at $CACHE/gopath/src/github.com/opencontainers/runc
#   - the suite's helper programs contrib/cmd/{recvtty,sd-helper,seccompagent},
#     built with Debian's Go in GOPATH mode (GO111MODULE=off) over
#     /usr/share/gocode: no module download
#   - the two images get-images.sh would download, made locally:
#     testdata/busybox-amd64.tar.xz laid out like docker's busybox image
#     (from /bin/busybox of busybox-static; an empty dev/, no proc/ or sys/:
#     mask.bats makes those symlinks, userns.bats needs dev/ to exist), and
#     testdata/debian-amd64.tar.xz (`debootstrap --variant=minbase bookworm`)
#   - bin/subreaper (subreaper.c) and bin/shims/git (refuses network clones)
#   - two patches to the suite: setup_recvtty and setup_seccompagent wait
#     for their helper's socket
#
# usage: scripts/conformance/setup.sh        (as root)
#   PIVOT_CONFORMANCE_CACHE  cache directory (default /var/cache/pivot-conformance)
#   RUNC_SRC=DIR  the suite of this runc source tree instead of Debian's: the
#                 tree is copied into $CACHE/trees/<hash of DIR> (again when
#                 a file in DIR is newer than the copy), its contrib/cmd/*
#                 helpers built (module mode with -mod=vendor where the tree
#                 vendors its modules, else GOPATH mode), the images copied
#                 from the Debian tree's testdata (made if missing); the two
#                 patches are applied where their lines are found
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

here=$(cd "$(dirname "$0")" && pwd)
CACHE=${PIVOT_CONFORMANCE_CACHE:-/var/cache/pivot-conformance}
DEBIAN_SRC=$CACHE/gopath/src/github.com/opencontainers/runc
SRC=$DEBIAN_SRC
if [ -n "${RUNC_SRC:-}" ]; then
    RUNC_SRC=$(cd "$RUNC_SRC" && pwd -P)
    TREE=$CACHE/trees/$(printf '%s' "$RUNC_SRC" | sha256sum | cut -c1-12)
    SRC=$TREE/gopath/src/github.com/opencontainers/runc
fi
INTEG=$SRC/tests/integration

log() { printf 'conformance setup: %s\n' "$*" >&2; }

if [ "$(id -u)" != 0 ]; then
    echo "conformance setup: must run as root" >&2
    exit 1
fi
mkdir -p "$CACHE"

# --- Debian packages ---------------------------------------------------------
packages=(
    bats util-linux bsdextrautils gawk jq xz-utils tar gcc libc6-dev
    busybox-static debootstrap dpkg-dev iproute2 criu
    golang-go golang-github-opencontainers-runc-dev
)
missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    timeout 900 apt-get update -qq
    timeout 1800 apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- runc's source (the suite) -----------------------------------------------
if [ -n "${RUNC_SRC:-}" ]; then
    [ -f "$RUNC_SRC/tests/integration/helpers.bash" ] || {
        log "RUNC_SRC=$RUNC_SRC: no tests/integration/helpers.bash (not a runc source tree)"
        exit 1
    }
    if [ ! -f "$SRC/.pivot-conformance-source" ] ||
        [ -n "$(find "$RUNC_SRC" -newer "$TREE/copied" -print -quit 2>/dev/null || echo new)" ]; then
        log "copying the runc source tree $RUNC_SRC"
        rm -rf "$TREE"
        mkdir -p "$SRC"
        cp -a "$RUNC_SRC/." "$SRC/"
        # Helpers built in the tree are rebuilt here, by this machine's Go.
        for d in "$SRC"/contrib/cmd/*/; do
            rm -f "$d$(basename "$d")"
        done
        echo "runc $(cat "$SRC/VERSION" 2>/dev/null || echo '?') (source tree $RUNC_SRC)" \
            >"$SRC/.pivot-conformance-source"
        touch "$TREE/copied"
    fi
fi
if [ ! -f "$SRC/.pivot-conformance-source" ]; then
    log "fetching runc's source package from Debian"
    apt_dir=$CACHE/apt
    rm -rf "$apt_dir" "$CACHE/src.tmp"
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache" "$CACHE/src.tmp"
    # deb-src lines for the mirrors the machine's own deb lines use.
    {
        if [ -f /etc/apt/sources.list.d/debian.sources ]; then
            awk '
                /^URIs:/ { uri = $2 }
                /^Suites:/ { for (i = 2; i <= NF; i++) suites[n++] = uri " " $i }
                END { for (i = 0; i < n; i++) print suites[i] }
            ' /etc/apt/sources.list.d/debian.sources
        fi
        if [ -f /etc/apt/sources.list ]; then
            awk '$1 == "deb" { o = 2; if ($2 ~ /^\[/) o = 3; print $o, $(o+1) }' /etc/apt/sources.list
        fi
    } | sort -u | while read -r uri suite; do
        echo "deb-src $uri $suite main"
    done >"$apt_dir/sources.list"
    if [ ! -s "$apt_dir/sources.list" ]; then
        echo "deb-src http://deb.debian.org/debian bookworm main" >"$apt_dir/sources.list"
    fi
    apt_opts=(
        -o "Dir::Etc::SourceList=$apt_dir/sources.list"
        -o "Dir::Etc::SourceParts=/nonexistent"
        -o "Dir::State::Lists=$apt_dir/lists"
        -o "Dir::Cache=$apt_dir/cache"
        -o "APT::Sandbox::User=root"
    )
    timeout 900 apt-get "${apt_opts[@]}" update -qq
    (cd "$CACHE/src.tmp" && timeout 900 apt-get "${apt_opts[@]}" source -qq runc >/dev/null)
    unpacked=$(find "$CACHE/src.tmp" -mindepth 1 -maxdepth 1 -type d -name 'runc-*' | head -n1)
    [ -d "$unpacked/tests/integration" ] || { log "no tests/integration in runc's source"; exit 1; }
    version=$(cd "$unpacked" && dpkg-parsechangelog -S Version)
    rm -rf "$SRC"
    mkdir -p "$(dirname "$SRC")"
    mv "$unpacked" "$SRC"
    echo "runc $version (Debian source package)" >"$SRC/.pivot-conformance-source"
    rm -rf "$CACHE/src.tmp" "$apt_dir"
fi

# --- one fix to the suite's helpers ------------------------------------------------
# setup_recvtty starts recvtty in the background and returns at once; a test
# that connects to $CONSOLE_SOCKET before recvtty has made it fails with
# "connect: no such file" (seen on a loaded 2-core machine, for any
# runtime). Wait up to 10 s for the socket; nothing else in the suite changes.
helpers=$INTEG/helpers.bash
# Another tree may have changed (or fixed) those lines: said, not fatal.
patch_missing() {
    rm -f "$helpers.tmp"
    if [ -n "${RUNC_SRC:-}" ]; then
        log "helpers.bash: $1 not as expected; left unpatched"
        echo "# pivot-conformance: wait for ${1#setup_} (not patched)" >>"$helpers"
    else
        log "helpers.bash: $1 not found"
        exit 1
    fi
}
if ! grep -q 'pivot-conformance: wait for recvtty' "$helpers"; then
    log "patching setup_recvtty in helpers.bash to wait for its socket"
    awk '
        { print }
        /^\t\("\$RECVTTY" --pid-file "\$dir\/pid" --mode null "\$CONSOLE_SOCKET" &\) &$/ {
            print "\t# pivot-conformance: wait for recvtty to make its socket (races on a loaded machine)"
            print "\tlocal i"
            print "\tfor ((i = 0; i < 100; i++)); do [ -S \"$CONSOLE_SOCKET\" ] && break; sleep 0.1; done"
            done = 1
        }
        END { if (!done) exit 1 }
    ' "$helpers" >"$helpers.tmp" && mv "$helpers.tmp" "$helpers" || patch_missing setup_recvtty
fi
# setup_seccompagent has the same race with the agent's socket (seen as
# "failed to connect with seccomp agent: ... ENOENT" on the first test of
# seccomp-notify.bats): wait for it the same way.
if ! grep -q 'pivot-conformance: wait for seccompagent' "$helpers"; then
    log "patching setup_seccompagent in helpers.bash to wait for its socket"
    awk '
        { print }
        index($0, "\"${SECCOMP_AGENT}\" -socketfile=\"$SECCCOMP_AGENT_SOCKET\"") && !done {
            print "\t# pivot-conformance: wait for seccompagent to make its socket (races on a loaded machine)"
            print "\tlocal i"
            print "\tfor ((i = 0; i < 100; i++)); do [ -S \"$SECCCOMP_AGENT_SOCKET\" ] && break; sleep 0.1; done"
            done = 1
        }
        END { if (!done) exit 1 }
    ' "$helpers" >"$helpers.tmp" && mv "$helpers.tmp" "$helpers" || patch_missing setup_seccompagent
fi

# --- helper programs -----------------------------------------------------------
cmds=(recvtty sd-helper seccompagent)
if [ -n "${RUNC_SRC:-}" ]; then
    cmds=()
    for d in "$SRC"/contrib/cmd/*/; do
        ls "$d"*.go >/dev/null 2>&1 && cmds+=("$(basename "$d")")
    done
fi
for cmd in "${cmds[@]}"; do
    out=$SRC/contrib/cmd/$cmd/$cmd
    [ -x "$out" ] && continue
    if [ -n "${RUNC_SRC:-}" ] && [ -f "$SRC/go.mod" ] && [ -d "$SRC/vendor" ]; then
        log "building contrib/cmd/$cmd (module mode, vendored)"
        (
            cd "$SRC"
            GO111MODULE=on GOFLAGS=-mod=vendor GOPROXY=off GOTOOLCHAIN=local \
                GOCACHE="$CACHE/gocache" CGO_ENABLED=1 \
                go build -tags seccomp -o "$out.tmp" "./contrib/cmd/$cmd"
            mv "$out.tmp" "$out"
        ) || {
            log "contrib/cmd/$cmd does not build with $(go version) (the tree's go.mod: $(grep -m1 '^go ' "$SRC/go.mod"))"
            exit 1
        }
        continue
    fi
    log "building contrib/cmd/$cmd (GOPATH mode)"
    (
        cd "$SRC/contrib/cmd/$cmd"
        GO111MODULE=off GOPATH="$(dirname "$(dirname "$(dirname "$(dirname "$SRC")")")"):/usr/share/gocode" \
            GOCACHE="$CACHE/gocache" GOFLAGS='' GOPROXY=off CGO_ENABLED=1 \
            go build -tags seccomp -o "$cmd.tmp" .
        mv "$cmd.tmp" "$cmd"
    )
done
rm -rf "$CACHE/gocache"

# --- images -----------------------------------------------------------------------
testdata=$INTEG/testdata
# Another tree takes the images made for Debian's (made below if missing).
if [ "$SRC" != "$DEBIAN_SRC" ]; then
    mkdir -p "$testdata"
    for f in busybox-amd64.tar.xz debian-amd64.tar.xz; do
        [ -f "$DEBIAN_SRC/tests/integration/testdata/$f" ] && [ ! -f "$testdata/$f" ] &&
            cp "$DEBIAN_SRC/tests/integration/testdata/$f" "$testdata/$f"
    done
fi
busybox_tar=$testdata/busybox-amd64.tar.xz
if [ ! -f "$busybox_tar" ]; then
    log "making the busybox image from busybox-static"
    work=$CACHE/build/busybox
    rm -rf "$work"
    mkdir -p "$work"/{bin,dev,etc,home,root,tmp,usr/sbin,var/spool/mail,var/www}
    chmod 1777 "$work/tmp"
    chmod 0700 "$work/root"
    install -m 0755 /bin/busybox "$work/bin/busybox"
    # Like docker's busybox image: every applet a hard link in /bin.
    for applet in $(/bin/busybox --list); do
        [ "$applet" = busybox ] || ln "$work/bin/busybox" "$work/bin/$applet"
    done
    cat >"$work/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
EOF
    cat >"$work/etc/group" <<'EOF'
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
lp:x:7:
mail:x:8:
kmem:x:9:
wheel:x:10:root
cdrom:x:11:
dialout:x:18:
floppy:x:19:
video:x:28:
audio:x:29:
tape:x:32:
www-data:x:33:
operator:x:37:
utmp:x:43:
plugdev:x:46:
staff:x:50:
lock:x:54:
netdev:x:82:
users:x:100:
nogroup:x:65534:
EOF
    sed 's/:.*/:*:10933:0:99999:7:::/' "$work/etc/passwd" >"$work/etc/shadow"
    chmod 0640 "$work/etc/shadow"
    mkdir -p "$testdata"
    tar --numeric-owner --owner=0 --group=0 -C "$work" -cJf "$busybox_tar.tmp" .
    mv "$busybox_tar.tmp" "$busybox_tar"
    rm -rf "$work"
fi

debian_tar=$testdata/debian-amd64.tar.xz
if [ ! -f "$debian_tar" ]; then
    log "making the debian image (debootstrap --variant=minbase bookworm)"
    work=$CACHE/build/debian
    rm -rf "$work"
    mkdir -p "$(dirname "$work")"
    mirror=$(awk '/^URIs:/ && $2 ~ /debian$/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    : "${mirror:=http://deb.debian.org/debian}"
    timeout 1800 debootstrap --variant=minbase bookworm "$work" "$mirror" >"$CACHE/build/debootstrap.log" 2>&1 || {
        log "debootstrap failed; see $CACHE/build/debootstrap.log"
        # debootstrap may leave proc/sys mounted inside the target on failure
        for m in $(awk -v w="$work" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
            umount -l "$m" || true
        done
        exit 1
    }
    # slim, as the docker image is
    rm -rf "$work"/var/cache/apt/archives/*.deb "$work"/var/lib/apt/lists/* \
        "$work"/usr/share/doc/* "$work"/usr/share/man/* "$work"/usr/share/info/* \
        "$work"/usr/share/locale/*
    tar --numeric-owner -C "$work" --exclude './dev/*' --exclude './proc/*' --exclude './sys/*' \
        -cf - . | xz -T0 -3 >"$debian_tar.tmp"
    mv "$debian_tar.tmp" "$debian_tar"
    rm -rf "$work" "$CACHE/build"
fi

# --- the subreaper and the shims --------------------------------------------------
mkdir -p "$CACHE/bin/shims"
if [ ! -x "$CACHE/bin/subreaper" ] || [ "$here/subreaper.c" -nt "$CACHE/bin/subreaper" ]; then
    log "building subreaper"
    gcc -O2 -Wall -o "$CACHE/bin/subreaper.tmp" "$here/subreaper.c"
    mv "$CACHE/bin/subreaper.tmp" "$CACHE/bin/subreaper"
fi
# spec.bats "spec validator" clones runtime-spec from GitHub: there is no
# network here, so fail at once and say so rather than try.
cat >"$CACHE/bin/shims/git.tmp" <<'EOF'
#!/bin/sh
for a in "$@"; do
    case $a in
    http://* | https://* | git://* | ssh://* | git@*)
        echo "git: $a: no network in the conformance harness (offline run)" >&2
        exit 128
        ;;
    esac
done
PATH=$(echo "$PATH" | sed 's|[^:]*/bin/shims:||')
exec git "$@"
EOF
chmod 0755 "$CACHE/bin/shims/git.tmp"
mv "$CACHE/bin/shims/git.tmp" "$CACHE/bin/shims/git"

log "ready: $(cat "$SRC/.pivot-conformance-source") in $CACHE"
