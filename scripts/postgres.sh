#!/usr/bin/env bash
# Starts or stops a throw-away PostgreSQL cluster on a free loopback port, for the PostgreSQL test run.
#   scripts/postgres.sh start DIR   prints the server URL (postgres://postgres@127.0.0.1:PORT/postgres)
#   scripts/postgres.sh stop DIR
# When run as root, DIR's parent must be searchable by the postgres user.
set -euo pipefail
action=$1 dir=$2
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bin/initdb" ] || { echo "PostgreSQL server binaries not found under /usr/lib/postgresql" >&2; exit 1; }
# initdb refuses to run as root; the cluster belongs to the postgres user.
run_pg() { if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }

case "$action" in
  start)
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    run_pg "'$bin/initdb' -D '$dir/data' -U postgres --auth=trust -E UTF8 >'$dir/initdb.log' 2>&1"
    run_pg "'$bin/pg_ctl' -D '$dir/data' -o \"-c listen_addresses=127.0.0.1 -p $port -k '$dir' -c fsync=off\" -l '$dir/server.log' -w start >/dev/null"
    echo "postgres://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
      run_pg "'$bin/pg_ctl' -D '$dir/data' -m fast -w stop >/dev/null"
    fi
    ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
