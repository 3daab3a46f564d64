#!/usr/bin/env bash
# Builds the Debian package and the release tarball, and checks what an
# operator gets from them without touching the host's packages: apt
# accepts the .deb (`apt-get -s install ./pivot_*.deb`, a simulation), it
# is installed into a scratch root with `dpkg --root`, and from there the
# installed pivot prints its version, finds what it needs (`pivot check`)
# and runs a container, every command has its man page, bash completes
# the ID of a container it created, the README's snippets are under
# /usr/share/doc/pivot/examples, and the tarball holds the same files.
#
# Then a real install on a fresh Debian: a minimal root of the host's
# suite made by debootstrap (kept under /var/cache/pivot-package, so only
# the first run fetches it: about two minutes, later runs copy it in
# seconds) is copied to a scratch dir, and chrooted into it in a mount
# namespace of its own (its /proc, /sys and /dev mounted there only) and
# without a network apt installs the .deb (`apt-get install ./pivot_VERSION_amd64.deb`:
# its Depends must be met by the base system), and the installed pivot
# prints its version, has its man page and bash completion, passes
# `pivot check` and runs a busybox container; `apt-get remove` and
# `purge` then leave no file of the package.
#
# usage: scripts/package/test.sh   (as root; needs busybox-static and the
#                                   static probe, as the black-box tests)
#   PIVOT_PACKAGE_CACHE   where the Debian root is kept
#                         (default /var/cache/pivot-package)
#   PIVOT_DEBIAN_MIRROR   debootstrap's mirror (default http://deb.debian.org/debian)
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=../lib/apt.sh
. scripts/lib/apt.sh
apt_install_missing "package test" debootstrap debian-archive-keyring jq

fail() {
    echo "package test: FAIL: $*" >&2
    exit 1
}

deb=$(bash scripts/package/deb.sh | tail -n 1)
tarball=$(bash scripts/package/tarball.sh | tail -n 1)
cargo build --release -p probe
version=$(dpkg-deb -f "$deb" Version)

work=$(mktemp -d /tmp/pivot-pkgtest.XXXXXX)
root=$work/root
state=$work/state
pivot=$root/usr/bin/pivot
id=pkgtest-$$
debian=$work/debian
debian_state=/var/lib/pivot-pkgtest
build=
cleanup() {
    if [ -x "$pivot" ]; then
        "$pivot" --root "$state" delete --force "$id" >/dev/null 2>&1 || true
        "$pivot" --root "$state" delete --force "$id-run" >/dev/null 2>&1 || true
        # Containers the chrooted pivot left after a failure.
        for c in "$id-apt" "$id-apt-run"; do
            "$pivot" --root "$debian$debian_state" delete --force "$c" >/dev/null 2>&1 || true
        done
    fi
    # The chroot's mounts lived in its own mount namespace only: nothing
    # mounted here is below $work.
    rm -rf --one-file-system "$work"
    [ -z "$build" ] || rm -rf --one-file-system "$build"
}
trap cleanup EXIT

echo "package test: $deb"
timeout 120 apt-get -s install "./$deb" | grep -q "^Inst pivot ($version" ||
    fail "apt-get -s install ./$deb does not install pivot $version"

mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
touch "$root/var/lib/dpkg/status"
dpkg --root="$root" --log=/dev/null --install "$deb" >/dev/null
dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Status}' pivot | grep -q "install ok installed" ||
    fail "pivot is not installed in the scratch root"

first=$("$pivot" --version | head -n 1)
[ "$first" = "pivot version $version" ] || fail "installed pivot --version: $first"
echo "package test: $first"
"$pivot" check >"$work/check.txt" || fail "the installed pivot check: $(tail -n 1 "$work/check.txt")"

# Every command in --help has its page, which man renders with runc's sections.
commands=$("$pivot" --help | awk '/^Commands:/ {on=1; next} on && /^  [a-z]/ {print $1} on && /^$/ {exit}' | grep -vx help)
[ -n "$commands" ] || fail "no commands in pivot --help"
for c in pivot $(printf 'pivot-%s\n' $commands); do
    page=$root/usr/share/man/man8/$c.8.gz
    [ -f "$page" ] || fail "no man page $c(8)"
done
if command -v man >/dev/null; then
    text=$(MANWIDTH=100 man -l "$root/usr/share/man/man8/pivot-run.8.gz" 2>/dev/null)
    for section in NAME SYNOPSIS OPTIONS "EXIT STATUS" EXAMPLES; do
        grep -qx "$section" <<<"$text" || fail "pivot-run(8) has no $section section"
    done
    grep -q -- "--no-pivot" <<<"$text" || fail "pivot-run(8) does not show --no-pivot"
fi

# The README's snippets, pointing at the installed binary.
examples=$root/usr/share/doc/pivot/examples
grep -q 'BinaryName = "/usr/bin/pivot"' "$examples/containerd-config.toml" ||
    fail "containerd example does not name /usr/bin/pivot"
grep -q 'runtime_path = "/usr/bin/pivot"' "$examples/crio-pivot.conf" ||
    fail "CRI-O example does not name /usr/bin/pivot"
zcat "$root/usr/share/doc/pivot/changelog.gz" | grep -q "^## $version" ||
    fail "changelog.gz has no entry for $version"

# A container from the installed binary.
PIVOT_BIN=$pivot bash scripts/mkbundle.sh "$work/bundle" echo hello from the package >/dev/null
out=$("$pivot" --root "$state" run --bundle "$work/bundle" "$id-run")
[ "$out" = "hello from the package" ] || fail "the container printed: $out"
echo "package test: a container ran: $out"

# bash completes the ID of a created container from the --root typed.
jq '.process.args = ["sleep", "60"]' "$work/bundle/config.json" >"$work/config.json"
mv "$work/config.json" "$work/bundle/config.json"
"$pivot" --root "$state" create --bundle "$work/bundle" "$id"
completed=$(PATH="$root/usr/bin:$PATH" bash -c '
    source "$1/usr/share/bash-completion/completions/pivot"
    COMP_WORDS=(pivot --root "$2" kill "${3:0:7}")
    COMP_CWORD=4
    COMP_LINE="${COMP_WORDS[*]}"
    COMP_POINT=${#COMP_LINE}
    _pivot_with_ids pivot "${3:0:7}" kill
    printf "%s\n" "${COMPREPLY[@]}"' bash "$root" "$state" "$id")
grep -qx "$id" <<<"$completed" || fail "bash completion offered [$completed], not $id"
echo "package test: bash completed $id"
"$pivot" --root "$state" delete --force "$id"

# The tarball holds what the package installs (less Debian's changelog).
deb_files=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./||; s|/$||' | grep -v '^$' |
    grep -vx usr/share/doc/pivot/changelog.Debian.gz | sort)
tar_files=$(tar -tzf "$tarball" | sed "s|^pivot-$version/\?||; s|/$||" | grep -v '^$' | sort)
[ "$deb_files" = "$tar_files" ] || fail "the tarball and the package differ: $(diff <(echo "$deb_files") <(echo "$tar_files"))"
tar -xzf "$tarball" -C "$work" "pivot-$version/usr/bin/pivot"
cmp -s "$work/pivot-$version/usr/bin/pivot" "$pivot" || fail "the tarball's pivot is not the package's"
echo "package test: $tarball holds the same $(wc -l <<<"$tar_files") files"

# A fresh Debian root of the host's suite, made once and kept.
suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ -n "$suite" ] || fail "/etc/os-release names no Debian suite (VERSION_CODENAME)"
cache=${PIVOT_PACKAGE_CACHE:-/var/cache/pivot-package}
base=$cache/debian-$suite-minbase
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock -w 1800 9 || fail "$cache/.lock is held by another run"
if [ ! -d "$base" ]; then
    build=$(mktemp -d "$cache/.build.XXXXXX")
    started=$SECONDS
    echo "package test: making a minimal Debian $suite in $base (debootstrap, once)"
    # debootstrap mounts /proc and /sys in the new root: in a mount
    # namespace of its own, so the host never sees them.
    unshare -m --propagation private -- debootstrap --variant=minbase "$suite" "$build/root" \
        "${PIVOT_DEBIAN_MIRROR:-http://deb.debian.org/debian}" >"$build/log" 2>&1 ||
        fail "debootstrap $suite: $(tail -n 5 "$build/log")"
    rm -f "$build/root/var/cache/apt/archives/"*.deb
    mv "$build/root" "$base"
    rm -rf "$build"
    build=
    echo "package test: debootstrap took $((SECONDS - started))s"
fi
flock -u 9

# Depends and Pre-Depends must be met by the base system: apt runs offline.
for field in Pre-Depends Depends; do
    deps=$(dpkg-deb -f "$deb" "$field")
    [ -z "$deps" ] && continue
    for dep in $(tr ',|' '\n\n' <<<"$deps" | sed 's/(.*//; s/:.*//; s/ //g' | grep -v '^$'); do
        dpkg-query --admindir="$base/var/lib/dpkg" -W -f='${Status}' "$dep" 2>/dev/null |
            grep -q "ok installed" || fail "$field: $dep is not in a minimal Debian $suite"
    done
done

started=$SECONDS
cp -a "$base" "$debian"
cp "$deb" "$debian/root/"
PIVOT_BIN=$pivot bash scripts/mkbundle.sh "$debian/srv/bundle" echo hello from apt >/dev/null
PIVOT_BIN=$pivot bash scripts/mkbundle.sh "$debian/srv/sleep" sleep 60 >/dev/null
cat >"$debian/root/inside.sh" <<'INSIDE'
# Runs chrooted in the fresh Debian root: DEB VERSION ID STATE
set -euo pipefail
deb=$1 version=$2 id=$3 state=$4
export DEBIAN_FRONTEND=noninteractive PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C
fail() {
    echo "package test: FAIL (apt on a fresh Debian): $*" >&2
    exit 1
}
cd /root
apt-get install -y "./$deb" >apt-install.log 2>&1 ||
    fail "apt-get install ./$deb: $(tail -n 5 apt-install.log)"
dpkg-query -W -f='${Status} ${Version}' pivot | grep -qx "install ok installed $version" ||
    fail "dpkg says: $(dpkg-query -W -f='${Status} ${Version}' pivot)"
[ "$(command -v pivot)" = /usr/bin/pivot ] || fail "pivot is not /usr/bin/pivot on the PATH"
first=$(pivot --version | head -n 1)
[ "$first" = "pivot version $version" ] || fail "pivot --version: $first"
if command -v man >/dev/null; then
    [ "$(man -w pivot-run)" = /usr/share/man/man8/pivot-run.8.gz ] || fail "man -w pivot-run: $(man -w pivot-run 2>&1)"
else
    [ -f /usr/share/man/man8/pivot-run.8.gz ] || fail "no /usr/share/man/man8/pivot-run.8.gz"
fi
pivot check >check.txt || fail "pivot check: $(tail -n 3 check.txt)"
out=$(pivot --root "$state" run --bundle /srv/bundle "$id-run")
[ "$out" = "hello from apt" ] || fail "the container printed: $out"
pivot --root "$state" create --bundle /srv/sleep "$id"
completed=$(bash -c '
    source /usr/share/bash-completion/completions/pivot
    COMP_WORDS=(pivot --root "$1" kill "${2:0:7}")
    COMP_CWORD=4
    COMP_LINE="${COMP_WORDS[*]}"
    COMP_POINT=${#COMP_LINE}
    _pivot_with_ids pivot "${2:0:7}" kill
    printf "%s\n" "${COMPREPLY[@]}"' bash "$state" "$id")
grep -qx "$id" <<<"$completed" || fail "bash completion offered [$completed], not $id"
pivot --root "$state" delete --force "$id"
echo "package test: apt installed $first; man page, completion, check and a container work"

files=$(dpkg -L pivot)
# No file of the package is left, and dpkg no longer knows it (pivot has
# no conffiles: remove leaves nothing for purge to take).
gone() {
    ! dpkg-query -W -f='${Status}' pivot 2>/dev/null | grep -Eq " (installed|config-files)$" ||
        fail "after $1 dpkg still has pivot: $(dpkg-query -W -f='${Status}' pivot)"
    local f left=
    while IFS= read -r f; do
        # What another package also owns (/usr, /usr/bin ...) stays.
        [ "$f" != /. ] || continue
        [ -e "$f" ] || [ -L "$f" ] || continue
        dpkg-query -S "$f" >/dev/null 2>&1 || left="$left $f"
    done <<<"$files"
    [ -z "$left" ] || fail "$1 left:$left"
}
apt-get remove -y pivot >apt-remove.log 2>&1 || fail "apt-get remove: $(tail -n 5 apt-remove.log)"
gone "apt-get remove"
apt-get install -y "./$deb" >apt-install.log 2>&1 ||
    fail "apt-get install ./$deb again: $(tail -n 5 apt-install.log)"
apt-get purge -y pivot >apt-purge.log 2>&1 || fail "apt-get purge: $(tail -n 5 apt-purge.log)"
gone "apt-get purge"
echo "package test: apt-get remove, and purge after a new install, left no file of pivot's $(wc -l <<<"$files") paths"
INSIDE
# The chroot's root is a mount (pivot_root needs the caller's root to be
# one); /proc, /sys (with the host's cgroup hierarchies for pivot) and
# /dev are mounted in this mount namespace only, gone when it exits. A
# network namespace of its own, with no network: apt works offline.
unshare -m -n --propagation private -- bash -euo pipefail -c '
    r=$1
    shift
    mount --bind "$r" "$r"
    mount -t proc proc "$r/proc"
    mount -t sysfs sysfs "$r/sys"
    mount --rbind /sys/fs/cgroup "$r/sys/fs/cgroup"
    mount --rbind /dev "$r/dev"
    exec chroot "$r" /bin/bash /root/inside.sh "$@"
' bash "$debian" "$(basename "$deb")" "$version" "$id-apt" "$debian_state"
echo "package test: the fresh Debian part took $((SECONDS - started))s"
echo "package test: passed"
