# Sourced by the setup scripts: installs Debian packages that are missing.
#
# apt_install_missing TAG PACKAGE...
#   installs (without recommends) those PACKAGEs that are not installed
#   yet, saying so on stderr as "TAG: installing ..."; waits up to 10
#   minutes for another apt-get holding the lock; does nothing (and needs
#   no network) when all are there.

apt_install_missing() {
    local tag=$1 p
    shift
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -gt 0 ] || return 0
    echo "$tag: installing ${missing[*]}" >&2
    DEBIAN_FRONTEND=noninteractive timeout 900 \
        apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive timeout 1800 \
        apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
