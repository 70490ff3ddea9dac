# Shared helpers for scripts/*. Source it; it defines functions only.
# shellcheck shell=bash

# Messages go to stderr so that stdout stays machine-readable (pg-test-cluster.sh url).
log() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() { printf '%s: error: %s\n' "${0##*/}" "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# True when the Debian package $1 is installed (not merely known or half-configured).
deb_installed() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = installed ]
}

# Install the Debian packages given as arguments that are not installed yet. Needs root;
# runs `apt-get update` only when something is missing. Without root it only warns.
APT_LOG="${APT_LOG:-/tmp/mineaction-apt.log}"
ensure_deb_packages() {
    local missing=() pkg
    command -v dpkg-query >/dev/null 2>&1 || { log "no dpkg-query: not a Debian system, skipping apt"; return 0; }
    for pkg in "$@"; do
        deb_installed "$pkg" || missing+=("$pkg")
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        return 0
    fi
    if ! is_root; then
        log "not root: skipping apt-get; missing Debian packages: ${missing[*]}"
        log "install them with: sudo apt-get install --no-install-recommends ${missing[*]}"
        return 0
    fi
    log "installing Debian packages: ${missing[*]} (apt-get output in $APT_LOG)"
    local apt_opts=(-o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)
    local t0=$SECONDS
    if ! { DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" update \
           && DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y \
                --no-install-recommends "${missing[@]}"; } </dev/null >"$APT_LOG" 2>&1; then
        tail -n 40 "$APT_LOG" >&2
        die "apt-get failed installing ${missing[*]} (full output in $APT_LOG)"
    fi
    log "Debian packages installed in $((SECONDS - t0))s"
    for pkg in "${missing[@]}"; do
        deb_installed "$pkg" || die "Debian package $pkg is still not installed"
    done
}
