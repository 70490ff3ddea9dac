#!/usr/bin/env bash
# Throwaway PostgreSQL 15 + PostGIS cluster for the test suite.
#
#   scripts/pg-test-cluster.sh start [DIR]   initdb + start, create database mineaction_test
#                                             with PostGIS, print its URL on stdout
#   scripts/pg-test-cluster.sh url   [DIR]   print the URL of the running cluster
#   scripts/pg-test-cluster.sh stop  [DIR]   stop it and delete its data
#
# DIR (default: <repo>/.pgtest, git-ignored) holds the cluster's state files; the data
# directory is DIR/data, or /tmp/mineaction-pgtest-XXXXXX when the server's user cannot
# reach DIR (e.g. a clone under /root while we run as root) or DIR's path is too long for a
# unix socket. Nothing is durable: fsync, synchronous_commit and full_page_writes are off.
# The server listens on 127.0.0.1 only, on a free port, with trust authentication, and
# keeps its unix socket inside its data directory, so it never clashes with a system
# cluster. As root the binaries run as the `postgres` system user (initdb refuses root);
# otherwise as the current user. The superuser is always called `postgres`.
# Environment: PG_BINDIR (default /usr/lib/postgresql/15/bin).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
# shellcheck source=scripts/_common.sh
. "$SCRIPT_DIR/_common.sh"

PG_BINDIR="${PG_BINDIR:-/usr/lib/postgresql/15/bin}"
DB_NAME=mineaction_test
# Connection settings from the caller's environment must not leak into our psql calls.
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGPASSWORD PGSERVICE PGOPTIONS PGSSLMODE

usage() {
    echo "usage: ${0##*/} start|stop|url [DIR]   (DIR defaults to $REPO_ROOT/.pgtest)" >&2
    exit 2
}

[ $# -ge 1 ] && [ $# -le 2 ] || usage
CMD="$1"
STATE_DIR="${2:-$REPO_ROOT/.pgtest}"

# Run a command as the user that owns the server's files ($1), from / so that an
# unreadable working directory (e.g. /root/...) does not bother it.
as_user() {
    local user="$1"; shift
    if [ "$user" = "$(id -un)" ]; then
        (cd / && "$@")
    else
        (cd / && runuser -u "$user" -- "$@")
    fi
}

server_user() {
    if is_root; then
        id postgres >/dev/null 2>&1 \
            || die "no 'postgres' system user: install the Debian package postgresql"
        echo postgres
    else
        id -un
    fi
}

free_port() {
    local py
    for py in "${PYTHON:-python3}" /usr/bin/python3; do
        if command -v "$py" >/dev/null 2>&1; then
            "$py" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()' && return 0
        fi
    done
    die "need python3 to find a free port"
}

psql_q() {  # psql_q PORT DB SQL
    "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$1" -U postgres -d "$2" -c "$3"
}

# Stop whatever cluster DIR recorded (or left half-made) and delete its files.
stop_cluster() {
    local dir="$1" data="" tmpbase="" owner pid
    [ -d "$dir" ] || return 0
    [ -f "$dir/datadir" ] && data="$(cat "$dir/datadir")"
    [ -n "$data" ] || data="$dir/data"
    [ -f "$dir/tmpbase" ] && tmpbase="$(cat "$dir/tmpbase")"
    if [ -f "$data/postmaster.pid" ]; then
        owner="$(stat -c %U "$data")"
        if ! as_user "$owner" "$PG_BINDIR/pg_ctl" stop -D "$data" -m fast -w -t 30 >/dev/null 2>&1 \
           && ! as_user "$owner" "$PG_BINDIR/pg_ctl" stop -D "$data" -m immediate -w -t 10 >/dev/null 2>&1; then
            pid="$(head -n1 "$data/postmaster.pid" 2>/dev/null || true)"
            # Only kill it if that pid really is a postgres server on this data directory.
            if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] \
               && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "postgres.*$data"; then
                kill -9 "$pid" 2>/dev/null || true
            fi
        fi
    fi
    rm -rf -- "$data"
    [ -n "$tmpbase" ] && rm -rf -- "$tmpbase"
    rm -f -- "$dir/datadir" "$dir/tmpbase" "$dir/port" "$dir/url" "$dir/initdb.log" "$dir/pg_ctl.log"
    rmdir -- "$dir" 2>/dev/null || true
}

start_cluster() {
    local dir="$1" user data tmpbase="" port attempt
    [ -x "$PG_BINDIR/initdb" ] && [ -x "$PG_BINDIR/pg_ctl" ] \
        || die "PostgreSQL 15 binaries not found in $PG_BINDIR (Debian package postgresql-15)"
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    stop_cluster "$dir"   # a stale cluster from an earlier, interrupted run
    mkdir -p "$dir"
    user="$(server_user)"

    data="$dir/data"
    # The socket path must fit in sun_path (107 bytes): "<data>/.s.PGSQL.NNNNN".
    if [ "${#data}" -gt 90 ] || ! as_user "$user" test -x "$dir" 2>/dev/null; then
        if is_root; then
            # Only here: $dir is not traversable/writable by postgres, so chown'ing a subdir
            # would not help. /tmp is.
            tmpbase="$(mktemp -d /tmp/mineaction-pgtest-XXXXXX)"
        else
            tmpbase="$(mktemp -d "${TMPDIR:-/tmp}/mineaction-pgtest-XXXXXX")"
        fi
        echo "$tmpbase" >"$dir/tmpbase"
        chown "$user" "$tmpbase"
        data="$tmpbase/data"
    fi
    echo "$data" >"$dir/datadir"
    if is_root && [ -z "$tmpbase" ]; then
        mkdir -m 700 "$data"
        chown "$user" "$data"
    fi

    if ! as_user "$user" "$PG_BINDIR/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C \
            --no-sync --no-instructions >"$dir/initdb.log" 2>&1; then
        cat "$dir/initdb.log" >&2
        die "initdb failed"
    fi
    cat >"$data/pg_hba.conf" <<'EOF'
# throwaway test cluster (scripts/pg-test-cluster.sh): trust, local only
local   all   all                 trust
host    all   all   127.0.0.1/32  trust
EOF
    cat >>"$data/postgresql.conf" <<EOF

# --- scripts/pg-test-cluster.sh: throwaway test cluster, nothing here is durable ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$data'
fsync = off
synchronous_commit = off
full_page_writes = off
jit = off
max_connections = 200
log_min_messages = warning
EOF

    for attempt in 1 2 3 4 5; do
        port="$(free_port)"
        if as_user "$user" "$PG_BINDIR/pg_ctl" start -D "$data" -l "$data/server.log" -w -t 60 \
                -o "-p $port" >"$dir/pg_ctl.log" 2>&1; then
            break
        fi
        if [ "$attempt" -lt 5 ] && grep -qi "address already in use\|could not bind" "$data/server.log" 2>/dev/null; then
            log "port $port was taken meanwhile, trying another"
            continue
        fi
        cat "$dir/pg_ctl.log" "$data/server.log" >&2 2>/dev/null || true
        die "could not start PostgreSQL (data directory $data)"
    done
    echo "$port" >"$dir/port"

    psql_q "$port" postgres "CREATE DATABASE $DB_NAME" >/dev/null \
        || die "could not create database $DB_NAME"
    psql_q "$port" "$DB_NAME" "CREATE EXTENSION postgis" >/dev/null \
        || die "CREATE EXTENSION postgis failed: install the Debian package postgresql-15-postgis-3"
    echo "postgresql://postgres@127.0.0.1:$port/$DB_NAME" >"$dir/url"
    cat "$dir/url"
}

case "$CMD" in
    start) start_cluster "$STATE_DIR" ;;
    stop)  stop_cluster "$STATE_DIR" ;;
    url)
        [ -f "$STATE_DIR/url" ] && [ -f "$(cat "$STATE_DIR/datadir" 2>/dev/null)/postmaster.pid" ] \
            || die "no running test cluster in $STATE_DIR (run: ${0##*/} start $STATE_DIR)"
        cat "$STATE_DIR/url"
        ;;
    *) usage ;;
esac
