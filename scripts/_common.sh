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

# Create or reuse the virtualenv $1 and install this project into it, editable, as spec $2
# ('.' or '.[test]'); skipped when pyproject.toml and the spec are unchanged since the last
# install. Run from the repository root. PYTHON picks the interpreter (default python3).
ensure_venv() {
    local VENV="$1" spec="$2" check="import mineaction"
    case "$spec" in *test*) check="import mineaction, pytest" ;; esac
    PY="${PYTHON:-python3}"
    mkdir -p "$VENV"
    # Several runs may share the checkout: one at a time sets up the venv.
    exec 9>"$VENV/.setup.lock"
    command -v flock >/dev/null 2>&1 && flock 9
    if ! "$VENV/bin/python" -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then
        log "creating virtualenv $VENV with $("$PY" --version 2>&1)"
        find "$VENV" -mindepth 1 -maxdepth 1 ! -name .setup.lock -exec rm -rf {} +
        "$PY" -m venv "$VENV" || die "could not create a virtualenv with $PY"
    fi
    stamp="$VENV/.mineaction-installed"
    want="$spec $(sha256sum <pyproject.toml | cut -d' ' -f1)"
    # Reinstall when pyproject.toml changed since the last install, or the install is broken.
    if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ] \
       || ! "$VENV/bin/python" -c "$check" 2>/dev/null; then
        log "installing mineaction ($spec) into $VENV"
        rm -f "$stamp"
        t0=$SECONDS
        if ! "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$spec" \
                </dev/null >"$VENV/pip-install.log" 2>&1; then
            cat "$VENV/pip-install.log" >&2
            die "pip install -e $spec failed"
        fi
        # Show pip's warnings and errors, less the noise about this machine's absent local indexes.
        grep -E '^(WARNING|ERROR)' "$VENV/pip-install.log" | grep -v 'is neither a file nor a directory' >&2 || true
        log "installed in $((SECONDS - t0))s"
        echo "$want" >"$stamp"
    fi
    exec 9>&-
}
