#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests, on 127.0.0.1 only, in a temporary folder.
#
#   scripts/ci-postgres.sh start DIR   installs PostgreSQL if needed (Debian package), creates a cluster in DIR (new or
#                                      empty), starts it on a free port, creates the database "lineup",
#                                      and prints the connection string for LINEUP_TEST_PG as its last line of stdout.
#   scripts/ci-postgres.sh stop DIR    stops that server and removes DIR.
#
# Run as root it runs the server as the 'postgres' user (PostgreSQL refuses to run as root); otherwise as the caller.
# Diagnostics go to stderr.
set -euo pipefail

log() { echo "ci-postgres: $*" >&2; }

find_bin() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
  done
  return 1
}

install_postgres() {
  if find_bin >/dev/null; then return 0; fi
  if [ "$(id -u)" -ne 0 ]; then
    log "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin and not root: install the 'postgresql' package"
    return 1
  fi
  log "installing PostgreSQL (apt-get install -y postgresql)"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q postgresql </dev/null >&2; then
    log "install failed; running apt-get update and trying again"
    apt-get update -q </dev/null >&2
    apt-get install -y -q postgresql </dev/null >&2
  fi
  find_bin >/dev/null
}

# Runs a command as the cluster's owner.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    if command -v runuser >/dev/null 2>&1; then runuser -u postgres -- "$@"
    else su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
    fi
  else
    "$@"
  fi
}

port_free() {
  # Nothing answers on it (bash's /dev/tcp connect fails).
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start() {
  local dir=$1
  install_postgres
  local bin
  bin=$(find_bin)
  if [ -e "$dir" ] && [ -n "$(ls -A "$dir")" ]; then log "$dir is not empty"; return 1; fi
  mkdir -p "$dir"
  chmod 700 "$dir"
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || { log "no 'postgres' user (the postgresql package creates it)"; return 1; }
    chown postgres: "$dir"
  fi

  local user=lineup password
  password=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
  as_owner sh -c "umask 077; printf '%s\n' '$password' > '$dir/pwfile'"
  as_owner "$bin/initdb" -D "$dir/data" -U "$user" --pwfile="$dir/pwfile" --auth-local=trust --auth-host=scram-sha-256 \
    -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; return 1; }
  rm -f "$dir/pwfile"

  local port tries=0
  while :; do
    tries=$((tries + 1))
    if [ "$tries" -gt 50 ]; then log "no free port found"; return 1; fi
    port=$((20000 + RANDOM % 30000))
    port_free "$port" || continue
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=300 -c shared_buffers=64MB" start >&2; then
      break
    fi
    if [ "$tries" -ge 5 ]; then cat "$dir/server.log" >&2 || true; log "could not start PostgreSQL"; return 1; fi
    log "start on port $port failed; trying another port"
  done

  local psql=psql
  [ -x "$bin/psql" ] && psql="$bin/psql"
  PGPASSWORD=$password "$psql" -h 127.0.0.1 -p "$port" -U "$user" -d postgres -v ON_ERROR_STOP=1 -q -c "CREATE DATABASE lineup" >&2
  log "PostgreSQL $("$bin/pg_ctl" --version | awk '{print $3}') on 127.0.0.1:$port (data in $dir)"
  echo "Host=127.0.0.1;Port=$port;Username=$user;Password=$password;Database=lineup"
}

stop() {
  local dir=$1 bin
  [ -d "$dir" ] || return 0
  if [ -f "$dir/data/postmaster.pid" ] && bin=$(find_bin); then
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) start "${2:?usage: $0 start DIR}" ;;
  stop) stop "${2:?usage: $0 stop DIR}" ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
