#!/usr/bin/env bash
# Server load benchmarks (issue 3): wrk on 127.0.0.1 against the Release build of src/Lineup.Server.
#
#   bench/server/run.sh [--db sqlite|postgres|both] [--runs N] [--duration SECONDS] [--threads N]
#                       [--connections N] [--agents N] [--rate WRITES_PER_S] [--no-build] [--out DIR]
#
# For each database: builds Release, starts the server with the README command on a free port of 127.0.0.1 (a fresh
# data dir; for PostgreSQL a throwaway cluster started here), sets up the default tenant with curl (a queue with
# --agents logged-in agents, wrap-up 0 and auto-ready; a probe queue with one agent), signs in, then runs, --runs
# times each:
#   status     wrk -s status.lua     GET /api/v1/queues/{id}/status, as fast as the connections go
#   callcycle  wrk -s callcycle.lua  create -> agent_answered -> caller_hangup, every step a durable write,
#              as fast as the connections go (saturation: the most writes per second)
#   paced      the same call cycles paced to --rate writes per second (default 2000, the issue's target), so
#              latency is read at that load rather than at saturation
# Beside both call-cycle runs, wrk -s statsprobe.lua (1 connection) measures the time from a hang-up's answer until
# GET /api/v1/queues/{id}/stats shows the call.
# Prints the medians as a Markdown table and leaves raw wrk output and server logs in --out (default: a new
# directory under /tmp). Every process it starts is stopped (by pid) on exit.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
HERE="$ROOT/bench/server"

DBS=both
RUNS=3
DURATION=15
THREADS=2
CONNECTIONS=64
AGENTS=100
RATE=2000
BUILD=1
OUT=""

while [ $# -gt 0 ]; do
  case "$1" in
    --db) DBS="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --duration) DURATION="${2%s}"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --connections) CONNECTIONS="$2"; shift 2 ;;
    --agents) AGENTS="$2"; shift 2 ;;
    --rate) RATE="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --out) OUT="$2"; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done
case "$DBS" in
  both) DBS="sqlite postgres" ;;
  sqlite|postgres) ;;
  *) echo "--db must be sqlite, postgres or both" >&2; exit 2 ;;
esac
if [ "$AGENTS" -le "$CONNECTIONS" ]; then
  echo "--agents ($AGENTS) must exceed --connections ($CONNECTIONS): each connection holds one call (and one agent) at a time" >&2
  exit 2
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

# --- tools -------------------------------------------------------------------------------------------------------
if ! command -v wrk >/dev/null 2>&1; then
  $SUDO apt-get install -y wrk >/dev/null 2>&1 || { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y wrk >/dev/null; }
fi
for tool in wrk curl jq; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$tool is required" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/lineup-bench.XXXXXX)
[ -z "$OUT" ] && OUT="$WORK/results"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
SERVER_PID=""
PG_DATA=""
PG_AS=()

stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  # `dotnet run` starts the app as its child: stop the child, then dotnet run itself.
  local children
  children=$(ps -o pid= --ppid "$SERVER_PID" 2>/dev/null || true)
  for p in $children "$SERVER_PID"; do kill -TERM "$p" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.2
  done
  for p in $children "$SERVER_PID"; do kill -KILL "$p" 2>/dev/null || true; done
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

stop_postgres() {
  [ -n "$PG_DATA" ] || return 0
  "${PG_AS[@]}" pg_ctl -D "$PG_DATA" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$(dirname "$PG_DATA")"
  PG_DATA=""
}

cleanup() {
  stop_server
  stop_postgres
  [ "$OUT" = "$WORK/results" ] || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM


# --- build ---------------------------------------------------------------------------------------------------------
if [ "$BUILD" -eq 1 ]; then
  echo "building src/Lineup.Server (Release)..."
  dotnet build src/Lineup.Server -c Release -warnaserror >"$OUT/build.log" 2>&1 || { tail -n 20 "$OUT/build.log"; exit 1; }
fi

# --- PostgreSQL: a throwaway cluster on 127.0.0.1 ------------------------------------------------------------------
start_postgres() {
  command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1 || { echo "initdb/pg_ctl not found" >&2; return 1; }
  local dir port
  dir=$(mktemp -d /tmp/lineup-bench-pg.XXXXXX)
  chmod 755 "$dir"
  PG_AS=()
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$dir"
    PG_AS=(runuser -u postgres --)
  fi
  port=$(free_port)
  PG_DATA="$dir/data"
  "${PG_AS[@]}" initdb -D "$PG_DATA" -A trust -U lineup -E UTF8 >"$OUT/postgres-initdb.log" 2>&1
  # Defaults for durability: fsync=on, synchronous_commit=on, full_page_writes=on.
  "${PG_AS[@]}" pg_ctl -D "$PG_DATA" -l "$dir/postgres.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=200" start >/dev/null
  psql -h 127.0.0.1 -p "$port" -U lineup -d postgres -qc "CREATE DATABASE lineup" >/dev/null
  PG_CONN="Host=127.0.0.1;Port=$port;Username=lineup;Database=lineup"
}

# --- server --------------------------------------------------------------------------------------------------------
PASSWORD="bench-$RANDOM-$RANDOM-$RANDOM"
start_server() { # $1 = sqlite|postgres
  PORT=$(free_port)
  BASE="http://127.0.0.1:$PORT"
  local args=(--urls "$BASE" --data-dir "$WORK/data-$1")
  [ "$1" = postgres ] && args+=(--db "$PG_CONN")
  LINEUP_ADMIN_PASSWORD="$PASSWORD" dotnet run --project src/Lineup.Server -c Release --no-build -- "${args[@]}" \
    >"$OUT/server-$1.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 240); do
    if curl -sf "$BASE/readyz" >/dev/null 2>&1; then return 0; fi
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "server exited:" >&2; tail -n 20 "$OUT/server-$1.log" >&2; return 1; }
    sleep 0.5
  done
  echo "server did not become ready" >&2
  return 1
}

api() { api_at "$BASE" "$TOKEN" "$@"; } # method path [json]

setup_tenant() {
  TOKEN=$(curl -sS -f -X POST "$BASE/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"username\":\"admin\",\"password\":\"$PASSWORD\"}" | jq -r .access_token)
  local settings='"strategy":"longest_idle","wrap_up_time":0,"agent_auto_ready":true'
  QUEUE=$(api POST /queues "{\"name\":\"bench\",$settings}" | jq -r .id)
  PROBE_QUEUE=$(api POST /queues "{\"name\":\"probe\",$settings}" | jq -r .id)
  local i agent
  for i in $(seq 1 $((AGENTS + 1))); do
    agent=$(api POST /agents "{\"name\":\"bench $i\",\"number\":\"$((5000 + i))\"}" | jq -r .id)
    if [ "$i" -le "$AGENTS" ]; then
      api POST "/queues/$QUEUE/members" "{\"agent_id\":$agent,\"position\":$i}" >/dev/null
    else
      api POST "/queues/$PROBE_QUEUE/members" "{\"agent_id\":$agent}" >/dev/null
    fi
    api POST "/agents/$agent/login" >/dev/null
  done
  local ready
  ready=$(api GET "/queues/$QUEUE/status" | jq -r .available_agents)
  [ "$ready" = "$AGENTS" ] || { echo "expected $AGENTS available agents, found $ready" >&2; return 1; }
}

# Calls still in progress when wrk stops hold an agent each: hang them up so the next run starts clean.
hang_up_leftovers() {
  local ids id
  for q in "$QUEUE" "$PROBE_QUEUE"; do
    while :; do
      ids=$(api GET "/queues/$q/calls?limit=500" | jq -r '.items[].id')
      [ -n "$ids" ] || break
      for id in $ids; do api POST "/calls/$id/events" '{"type":"caller_hangup"}' >/dev/null || true; done
    done
  done
}

wrk_status() { # duration -> raw output
  LINEUP_TOKEN="$TOKEN" LINEUP_QUEUE="$QUEUE" \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${1}s" --latency -s "$HERE/status.lua" "$BASE"
}

wrk_callcycle() { # duration [rate] -> raw output (call cycles, then the stats probe's line)
  local probe="$WORK/probe.out"
  LINEUP_TOKEN="$TOKEN" LINEUP_QUEUE="$QUEUE" LINEUP_RATE="${2:-0}" LINEUP_THREADS="$THREADS" \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${1}s" --latency -s "$HERE/callcycle.lua" "$BASE" &
  local load=$!
  sleep 1
  LINEUP_TOKEN="$TOKEN" LINEUP_QUEUE="$PROBE_QUEUE" \
    wrk -t1 -c1 -d"$(($1 > 3 ? $1 - 2 : 1))s" -s "$HERE/statsprobe.lua" "$BASE" >"$probe"
  wait "$load"
  cat "$probe"
}

# key=value from the line starting with $2 in file $1
field() { grep "^$2 " "$1" | head -n 1 | tr ' ' '\n' | sed -n "s/^$3=//p"; }

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

med() { # db kind key
  local f
  for f in "$OUT/$1-$2-"*.txt; do field "$f" "$3" "$4"; done | median
}

sum() { # db kind key
  local f
  for f in "$OUT/$1-$2-"*.txt; do field "$f" "$3" "$4"; done | awk '{ s += $1 } END { print s + 0 }'
}

{
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(free -g | awk '/Mem:/ { print $2 " GiB" }')"
  echo ".NET SDK $(dotnet --version), $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)"
  echo "runs=$RUNS duration=${DURATION}s threads=$THREADS connections=$CONNECTIONS agents=$AGENTS"
} | tee "$OUT/machine.txt"

for db in $DBS; do
  echo "== $db"
  if [ "$db" = postgres ]; then start_postgres; fi
  start_server "$db"
  setup_tenant
  echo "server on $BASE, queue $QUEUE ($AGENTS agents), probe queue $PROBE_QUEUE; warming up..."
  wrk_status 5 >/dev/null
  wrk_callcycle 5 >/dev/null
  hang_up_leftovers
  for run in $(seq 1 "$RUNS"); do
    echo "load before run $run: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/load-$db.txt"
    wrk_status "$DURATION" >"$OUT/$db-status-$run.txt"
    grep '^STATUS ' "$OUT/$db-status-$run.txt" || true
    wrk_callcycle "$DURATION" >"$OUT/$db-callcycle-$run.txt"
    grep -E '^(CALLCYCLE|STATSPROBE)' "$OUT/$db-callcycle-$run.txt" || true
    hang_up_leftovers
    wrk_callcycle "$DURATION" "$RATE" >"$OUT/$db-paced-$run.txt"
    grep -E '^(CALLCYCLE|STATSPROBE)' "$OUT/$db-paced-$run.txt" || true
    hang_up_leftovers
  done
  stop_server
  stop_postgres
done

row() { # db kind label
  if [ "$2" = status ]; then
    printf '| %s | %s | %s | %s / %s | - | - | - | %s |\n' "$1" "$3" \
      "$(med "$1" status STATUS rps)" "$(med "$1" status STATUS p50_ms)" "$(med "$1" status STATUS p99_ms)" \
      "$(sum "$1" status STATUS non2xx)"
  else
    printf '| %s | %s | %s | %s / %s | %s | %s / %s | %s / %s / %s | %s |\n' "$1" "$3" \
      "$(med "$1" "$2" CALLCYCLE writes_per_s)" "$(med "$1" "$2" CALLCYCLE req_p50_ms)" "$(med "$1" "$2" CALLCYCLE req_p99_ms)" \
      "$(med "$1" "$2" CALLCYCLE cycles_per_s)" "$(med "$1" "$2" CALLCYCLE cycle_p50_ms)" "$(med "$1" "$2" CALLCYCLE cycle_p99_ms)" \
      "$(med "$1" "$2" STATSPROBE lag_p50_ms)" "$(med "$1" "$2" STATSPROBE lag_p99_ms)" "$(med "$1" "$2" STATSPROBE lag_max_ms)" \
      "$(( $(sum "$1" "$2" CALLCYCLE non2xx) + $(sum "$1" "$2" STATSPROBE non2xx) ))"
  fi
}

{
  echo
  echo "Medians of $RUNS runs (${DURATION}s each, wrk -t$THREADS -c$CONNECTIONS; stats probe: 1 more connection beside the call cycles)"
  echo
  echo "| database | load | requests/s | request p50 / p99 ms | call cycles/s | cycle p50 / p99 ms | stats visible after p50 / p99 / max ms | non-2xx (all runs) |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|"
  for db in $DBS; do
    row "$db" status "status reads"
    row "$db" callcycle "call control, saturating"
    row "$db" paced "call control, paced at $RATE/s"
  done
  echo
  echo "raw output: $OUT"
} | tee "$OUT/summary.md"
