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
# usage: scripts/package/test.sh   (as root; needs busybox-static and the
#                                   static probe, as the black-box tests)
set -euo pipefail
cd "$(dirname "$0")/../.."

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
cleanup() {
    if [ -x "$pivot" ]; then
        "$pivot" --root "$state" delete --force "$id" >/dev/null 2>&1 || true
        "$pivot" --root "$state" delete --force "$id-run" >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
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
echo "package test: passed"
