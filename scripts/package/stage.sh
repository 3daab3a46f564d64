# Sourced by deb.sh and tarball.sh: builds pivot (release, static) and
# pivot-gen, and lays out what both packages hold under a directory:
#
#   usr/bin/pivot
#   usr/share/man/man8/pivot.8.gz, pivot-COMMAND.8.gz
#   usr/share/bash-completion/completions/pivot
#   usr/share/zsh/vendor-completions/_pivot
#   usr/share/fish/vendor_completions.d/pivot.fish
#   usr/share/doc/pivot/{README.md,changelog.gz,copyright}
#   usr/share/doc/pivot/examples/{containerd-config.toml,crio-pivot.conf}
#
# stage DIR        (DIR must not exist)
# pivot_version    the workspace version (Cargo.toml)

pivot_version() {
    sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml
}

# The README's fenced block number N (1-based) of language LANG in the
# section that starts with the heading HEADING.
readme_block() { # HEADING LANG N
    awk -v h="$1" -v lang="$2" -v n="$3" '
        /^## / { insec = ($0 == h) }
        insec && $0 == "```" lang { k++; if (k == n) { on = 1; next } }
        on && $0 == "```" { exit }
        on { print }
    ' README.md
}

stage() { # DIR
    local dir=$1 rel=target/x86_64-unknown-linux-gnu/release
    [ ! -e "$dir" ] || { echo "stage: $dir exists" >&2; return 1; }
    # Apart: built together, cargo would unify clap's features across
    # both and pivot would differ from the one `cargo build -p pivot` makes.
    cargo build --release -p pivot
    cargo build --release -p pivot-gen
    install -D -m 0755 "$rel/pivot" "$dir/usr/bin/pivot"

    local man=$dir/usr/share/man/man8
    "$rel/pivot-gen" man "$man"
    gzip -9n "$man"/*.8

    local comp
    comp=$(mktemp -d)
    "$rel/pivot-gen" completions "$comp"
    install -D -m 0644 "$comp/pivot.bash" "$dir/usr/share/bash-completion/completions/pivot"
    install -D -m 0644 "$comp/_pivot" "$dir/usr/share/zsh/vendor-completions/_pivot"
    install -D -m 0644 "$comp/pivot.fish" "$dir/usr/share/fish/vendor_completions.d/pivot.fish"
    rm -rf "$comp"

    local doc=$dir/usr/share/doc/pivot
    install -d "$doc/examples"
    install -m 0644 README.md "$doc/README.md"
    gzip -9nc CHANGELOG.md >"$doc/changelog.gz"
    chmod 0644 "$doc/changelog.gz"
    cat >"$doc/copyright" <<COPYRIGHT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: pivot

Files: *
License: Apache-2.0
 On Debian systems the full text of the Apache License 2.0 is in
 /usr/share/common-licenses/Apache-2.0.
COPYRIGHT
    # The README's snippets, with the package's binary path.
    local heading="## Kubernetes: containerd and CRI-O"
    readme_block "$heading" toml 1 | sed 's|/usr/local/bin/pivot|/usr/bin/pivot|' >"$doc/examples/containerd-config.toml"
    readme_block "$heading" toml 2 | sed 's|/usr/local/bin/pivot|/usr/bin/pivot|' >"$doc/examples/crio-pivot.conf"
    local f
    for f in "$doc/examples/containerd-config.toml" "$doc/examples/crio-pivot.conf"; do
        grep -q '/usr/bin/pivot' "$f" || { echo "stage: no snippet for $f in README.md" >&2; return 1; }
        chmod 0644 "$f"
    done
    find "$dir" -type d -exec chmod 0755 {} +
}
