#!/usr/bin/env bash
# Build or reuse the virtualenv of the OGC API test suite (issue 23):
#   scripts/ogctests-venv.sh [VENV]        (default VENV: ./.venv-ogctests)
#
# ogctests (PyPI) pins httpx, pytest and pyarrow below this project's own pins, so it
# cannot be installed into .venv; it gets a virtualenv of its own with the exact pins of
# tests/ogctests-requirements.txt, and tests/api/test_ogc_features.py runs its core suite
# with that venv's Python against a live server. The venv is built anew only when the
# requirements file changed since the last build (or the venv is broken): a fresh venv,
# so that nothing of an older set of pins is left in it. scripts/test runs this first.
# Environment: PYTHON (interpreter for the venv, default python3).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
cd "$REPO_ROOT"
# shellcheck source=scripts/_common.sh
. "$SCRIPT_DIR/_common.sh"

VENV="${1:-$REPO_ROOT/.venv-ogctests}"
REQUIREMENTS="tests/ogctests-requirements.txt"
PY="${PYTHON:-python3}"
[ -f "$REQUIREMENTS" ] || die "$REQUIREMENTS is missing"

mkdir -p "$VENV"
# Several runs may share the checkout: one at a time builds the venv.
exec 9>"$VENV/.setup.lock"
command -v flock >/dev/null 2>&1 && flock 9

stamp="$VENV/.requirements-installed"
want="$(sha256sum <"$REQUIREMENTS" | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null || true)" = "$want" ] \
   && "$VENV/bin/python" -c 'import ogctests.main, httpx' 2>/dev/null; then
    exit 0  # up to date
fi

log "building the ogctests virtualenv $VENV from $REQUIREMENTS with $("$PY" --version 2>&1)"
t0=$SECONDS
find "$VENV" -mindepth 1 -maxdepth 1 ! -name .setup.lock -exec rm -rf {} +
"$PY" -m venv "$VENV" || die "could not create a virtualenv with $PY"
# pip resolves the pins as a whole (a conflict among them fails here), then checks them.
if ! { "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQUIREMENTS" \
       && "$VENV/bin/python" -m pip check --disable-pip-version-check; } \
       </dev/null >"$VENV/pip-install.log" 2>&1; then
    cat "$VENV/pip-install.log" >&2
    die "installing $REQUIREMENTS into $VENV failed"
fi
"$VENV/bin/python" -c 'import ogctests.main, httpx' || die "ogctests does not import in $VENV"
echo "$want" >"$stamp"
log "ogctests virtualenv built in $((SECONDS - t0))s"
