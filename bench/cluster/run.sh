#!/usr/bin/env bash
# Cluster benchmarks (issue 13): Lineup nodes in cluster mode on 127.0.0.1, 127.0.0.2, 127.0.0.3 over one throwaway
# PostgreSQL, driven with wrk (the scripts of bench/server) and curl.
#
#   bench/cluster/run.sh [--runs N] [--duration SECONDS] [--connections N] [--agents N] [--rate WRITES_PER_S]
#                        [--history COMMANDS] [--no-build] [--out DIR]
#
# 1. One node: node 1 alone runs the default tenant (a queue with --agents logged-in agents, wrap-up 0, auto-ready).
#    status reads (wrk status.lua) and call cycles (wrk callcycle.lua: create, answer, hang up; every step a durable
#    write), as fast as they go and paced to --rate writes/s (p99 of a durable write at that load).
# 2. Three nodes: nodes 2 and 3 join; the tenant stays on node 1. The same reads through node 1 (its owner) and through
#    node 2 (one forwarding hop: the cost of landing on a node that does not run the tenant), then through all three
#    at once (one wrk per node, the sum); call cycles through node 2. CPU seconds of each node per step are read from
#    /proc.
# 3. Failover, --runs times: kill -9 the node that runs the tenant, then PUT an agent's status through another node
#    every 50 ms until it answers 200; the time from the kill to that answer. The killed node is started again (same
#    address and ports) and rejoins before the next run.
# With --history N, the default tenant first gets N commands of history (bench/cluster/Lineup.HistoryGen writes them
# straight into PostgreSQL, with a snapshot 5,000 commands before the end), so that node 1's first start of it and
# every failover load it from that snapshot (or a newer one the owner took) plus the tail: each load's time, as the
# node logs it, goes beside the failover figures.
# Raw output, node logs and a summary in --out (default: a new directory under /tmp). Every process started here is
# stopped by pid on exit.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
SERVER_BENCH="$ROOT/bench/server"

RUNS=5
DURATION=10
CONNECTIONS=32
AGENTS=64
RATE=2000
HISTORY=0
BUILD=1
OUT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS="$2"; shift 2 ;;
    --duration) DURATION="${2%s}"; shift 2 ;;
    --connections) CONNECTIONS="$2"; shift 2 ;;
    --agents) AGENTS="$2"; shift 2 ;;
    --rate) RATE="$2"; shift 2 ;;
    --history) HISTORY="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --out) OUT="$2"; shift 2 ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done
if [ "$AGENTS" -le "$CONNECTIONS" ]; then
  echo "--agents ($AGENTS) must exceed --connections ($CONNECTIONS)" >&2
  exit 2
fi
for tool in wrk curl jq psql; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$tool is required (apt-get install -y wrk curl jq postgresql)" >&2; exit 1; }
done
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

WORK=$(mktemp -d /tmp/lineup-cluster-bench.XXXXXX)
[ -z "$OUT" ] && OUT="$WORK/results"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
declare -A PID HTTP SILO
PG_DIR=$(mktemp -d /tmp/lineup-cluster-bench-pg.XXXXXX) # beside WORK: the server may run as another user

stop_node() { # i
  local p=${PID[$1]:-}
  [ -n "$p" ] || return 0
  kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
  kill -KILL "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  PID[$1]=""
}
cleanup() {
  for i in 1 2 3; do stop_node "$i"; done
  bash scripts/ci-postgres.sh stop "$PG_DIR" >/dev/null 2>&1 || true
  [ "$OUT" = "$WORK/results" ] || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM


if [ "$BUILD" -eq 1 ]; then
  echo "building src/Lineup.Server (Release)..."
  dotnet build src/Lineup.Server -c Release -warnaserror >"$OUT/build.log" 2>&1 || { tail -n 20 "$OUT/build.log"; exit 1; }
  if [ "$HISTORY" -gt 0 ]; then
    dotnet build bench/cluster/Lineup.HistoryGen -c Release -warnaserror >>"$OUT/build.log" 2>&1 || { tail -n 20 "$OUT/build.log"; exit 1; }
  fi
fi
DLL="$ROOT/src/Lineup.Server/bin/Release/net10.0/Lineup.Server.dll"

PG=$(bash scripts/ci-postgres.sh start "$PG_DIR" </dev/null 2>"$OUT/postgres.log")
PASSWORD="bench-$RANDOM-$RANDOM-$RANDOM"
for i in 1 2 3; do
  HTTP[$i]="http://127.0.0.$i:$(free_port 127.0.0.$i)"
  SILO[$i]=$(free_port 127.0.0.$i)
done

start_node() { # i
  local i=$1
  LINEUP_ADMIN_PASSWORD="$PASSWORD" dotnet "$DLL" --urls "${HTTP[$i]}" --data-dir "$WORK/data-$i" --db "$PG" \
    --Cluster:Enabled=true --Cluster:AdvertisedAddress="127.0.0.$i" --Cluster:SiloPort="${SILO[$i]}" \
    --Logging:LogLevel:Default=Warning --Logging:LogLevel:Lineup.Server.Tenancy.TenantHost=Information >>"$OUT/node-$i.log" 2>&1 &
  PID[$i]=$!
}
wait_ready() { # i
  for _ in $(seq 1 480); do
    curl -sf "${HTTP[$1]}/readyz" >/dev/null 2>&1 && return 0
    kill -0 "${PID[$1]}" 2>/dev/null || { echo "node $1 exited:" >&2; tail -n 20 "$OUT/node-$1.log" >&2; return 1; }
    sleep 0.25
  done
  echo "node $1 did not become ready" >&2
  return 1
}
cpu() { # pid -> CPU seconds so far (user + system)
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f\n", ($14 + $15) / hz }' "/proc/$1/stat" 2>/dev/null || echo 0
}
cpus() { local i; for i in 1 2 3; do [ -n "${PID[$i]:-}" ] && cpu "${PID[$i]}" || echo 0; done | paste -sd' '; }
cpu_delta() { # before after -> "n1 n2 n3" CPU seconds
  paste <(tr ' ' '\n' <<<"$1") <(tr ' ' '\n' <<<"$2") | awk '{ printf "%.1f ", $2 - $1 }'
}

api() { local base=$1; shift; api_at "$base" "$TOKEN" "$@"; } # base method path [json]
owner() { # -> the index of the node that runs the default tenant, as a node answers (X-Lineup-Node)
  local base=$1 url i
  url=$(curl -sS -D - -o /dev/null "$base/api/v1/queues/$QUEUE/status" -H "Authorization: Bearer $TOKEN" \
    | tr -d '\r' | sed -n 's/^[Xx]-[Ll]ineup-[Nn]ode: //p')
  for i in 1 2 3; do [ "$url" = "${HTTP[$i]}" ] && echo "$i" && return 0; done
  return 1
}
wrk_status() { # base duration
  LINEUP_TOKEN="$TOKEN" LINEUP_QUEUE="$QUEUE" wrk -t2 -c"$CONNECTIONS" -d"${2}s" --latency -s "$SERVER_BENCH/status.lua" "$1"
}
wrk_callcycle() { # base duration rate
  LINEUP_TOKEN="$TOKEN" LINEUP_QUEUE="$QUEUE" LINEUP_RATE="$3" LINEUP_THREADS=2 \
    wrk -t2 -c"$CONNECTIONS" -d"${2}s" --latency -s "$SERVER_BENCH/callcycle.lua" "$1"
}
hang_up_leftovers() { # base
  local ids id
  while :; do
    ids=$(api "$1" GET "/queues/$QUEUE/calls?limit=500" | jq -r '.items[].id')
    [ -n "$ids" ] || break
    for id in $ids; do api "$1" POST "/calls/$id/events" '{"type":"caller_hangup"}' >/dev/null || true; done
  done
}
step() { # name command... : runs it, keeps its output and the nodes' CPU seconds
  local name=$1 before after
  shift
  before=$(cpus)
  "$@" >"$OUT/$name.txt"
  after=$(cpus)
  echo "CPU_S $(cpu_delta "$before" "$after")" >>"$OUT/$name.txt"
  echo "$name: $(grep -E '^(STATUS|CALLCYCLE) ' "$OUT/$name.txt" | cut -c1-220) | CPU s per node: $(cpu_delta "$before" "$after")"
}

{
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(free -g | awk '/Mem:/ { print $2 " GiB" }')"
  echo ".NET SDK $(dotnet --version), $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2), $(psql --version)"
  echo "runs=$RUNS duration=${DURATION}s connections=$CONNECTIONS agents=$AGENTS rate=$RATE"
  echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT/machine.txt"

# ---- 1. one node -------------------------------------------------------------------------------------------------
loaded() { # i -> the node's last tenant load as it logged it: "snapshot=SEQ snapshot_ms=MS replayed=N ms=MS" (ms: all of it)
  grep -h 'loaded from the snapshot' "$OUT/node-$1.log" 2>/dev/null | tail -n 1 | sed -n \
    's/.*at command \([0-9]*\) (read in \([0-9]*\) ms) and \([0-9]*\) commands after it in \([0-9]*\) ms.*/snapshot=\1 snapshot_ms=\2 replayed=\3 ms=\4/p'
}
start_node 1
wait_ready 1
B1=${HTTP[1]}
login() { curl -sS -f -X POST "$B1/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$PASSWORD\"}" | jq -r .access_token; }
if [ "$HISTORY" -gt 0 ]; then
  echo "== history: $HISTORY commands for the default tenant (node 1 stopped meanwhile)"
  stop_node 1
  dotnet "$ROOT/bench/cluster/Lineup.HistoryGen/bin/Release/net10.0/Lineup.HistoryGen.dll" --db "$PG" --commands "$HISTORY" \
    | tee "$OUT/history.txt"
  t0=$(date +%s%N)
  start_node 1
  wait_ready 1
  TOKEN=$(login)
  # The node may have started the tenant already (a tenant with timers is started by the keeper); until it is up,
  # requests get 503.
  for _ in $(seq 1 600); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' -m 30 "$B1/api/v1/queues" -H "Authorization: Bearer $TOKEN")" = 200 ] && break
    sleep 0.2
  done
  echo "FIRSTSTART node_start_to_first_answer_ms=$(( ($(date +%s%N) - t0) / 1000000 )) $(loaded 1)" | tee -a "$OUT/history.txt"
fi
TOKEN=$(login)
QUEUE=$(api "$B1" POST /queues '{"name":"bench","strategy":"longest_idle","wrap_up_time":0,"agent_auto_ready":true}' | jq -r .id)
for i in $(seq 1 "$AGENTS"); do
  agent=$(api "$B1" POST /agents "{\"name\":\"bench $i\",\"number\":\"$((5000 + i))\"}" | jq -r .id)
  api "$B1" POST "/queues/$QUEUE/members" "{\"agent_id\":$agent,\"position\":$i}" >/dev/null
  api "$B1" POST "/agents/$agent/login" >/dev/null
done
PROBE_AGENT=$agent
echo "== one node ($B1): queue $QUEUE, $AGENTS agents; warming up"
wrk_status "$B1" 5 >/dev/null
wrk_callcycle "$B1" 5 0 >/dev/null
hang_up_leftovers "$B1"
step one-status wrk_status "$B1" "$DURATION"
step one-callcycle wrk_callcycle "$B1" "$DURATION" 0
hang_up_leftovers "$B1"
step one-paced wrk_callcycle "$B1" "$DURATION" "$RATE"
hang_up_leftovers "$B1"

# ---- 2. three nodes ----------------------------------------------------------------------------------------------
start_node 2
start_node 3
wait_ready 2
wait_ready 3
B2=${HTTP[2]}
B3=${HTTP[3]}
o=$(owner "$B2")
echo "== three nodes: the tenant runs on node $o"
wrk_status "$B2" 3 >/dev/null
step three-status-owner wrk_status "${HTTP[$o]}" "$DURATION"
other=$(( o % 3 + 1 ))
step three-status-elsewhere wrk_status "${HTTP[$other]}" "$DURATION"
all_three() {
  local i pids=()
  for i in 1 2 3; do wrk_status "${HTTP[$i]}" "$DURATION" >"$WORK/all-$i.txt" & pids+=($!); done
  wait "${pids[@]}"
  cat "$WORK"/all-*.txt | grep '^STATUS ' | awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "rps") s += kv[2] } } END { printf "STATUS rps=%.1f (sum of three)\n", s }'
  cat "$WORK"/all-*.txt
}
step three-status-all all_three
step three-callcycle-elsewhere wrk_callcycle "${HTTP[$other]}" "$DURATION" 0
hang_up_leftovers "$B2"
step three-paced-elsewhere wrk_callcycle "${HTTP[$other]}" "$DURATION" "$RATE"
hang_up_leftovers "$B2"

# ---- 3. failover -------------------------------------------------------------------------------------------------
echo "== failover, $RUNS runs"
: >"$OUT/failover.txt"
for run in $(seq 1 "$RUNS"); do
  o=$(owner "$B2" || owner "$B3" || owner "$B1")
  via=$(( o % 3 + 1 ))
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  t0=$(date +%s%N)
  kill -KILL "${PID[$o]}"
  wait "${PID[$o]}" 2>/dev/null || true
  PID[$o]=""
  code=0
  tries=0
  while [ "$code" != 200 ]; do
    sleep 0.05
    tries=$((tries + 1))
    body=$([ $((tries % 2)) -eq 0 ] && echo '{"status":"ready"}' || echo '{"status":"not_ready"}')
    code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 -X PUT "${HTTP[$via]}/api/v1/agents/$PROBE_AGENT/status" \
      -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d "$body" || echo 000)
    [ "$tries" -lt 1200 ] || { echo "run $run: no answer within a minute" >&2; exit 1; }
  done
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  now=$(owner "${HTTP[$via]}" || echo "?")
  echo "FAILOVER run=$run killed=$o via=$via ms=$ms tries=$tries new_owner=$now $([ "$now" = "?" ] || loaded "$now") load=\"$load\"" \
    | tee -a "$OUT/failover.txt"
  start_node "$o"
  wait_ready "$o"
  sleep 2
done

# ---- summary -----------------------------------------------------------------------------------------------------
f() { grep "^$2 " "$OUT/$1.txt" | head -n 1 | tr ' ' '\n' | sed -n "s/^$3=//p"; }
{
  echo
  echo "| step | through | rps | writes/s | p50 ms | p99 ms | CPU s per node (1 2 3) |"
  echo "|---|---|---|---|---|---|---|"
  for s in one-status three-status-owner three-status-elsewhere three-status-all; do
    echo "| $s | | $(f "$s" STATUS rps) | | $(f "$s" STATUS p50_ms) | $(f "$s" STATUS p99_ms) | $(grep '^CPU_S' "$OUT/$s.txt" | cut -d' ' -f2-) |"
  done
  for s in one-callcycle one-paced three-callcycle-elsewhere three-paced-elsewhere; do
    echo "| $s | | $(f "$s" CALLCYCLE rps) | $(f "$s" CALLCYCLE writes_per_s) | $(f "$s" CALLCYCLE req_p50_ms) | $(f "$s" CALLCYCLE req_p99_ms) | $(grep '^CPU_S' "$OUT/$s.txt" | cut -d' ' -f2-) |"
  done
  echo
  sed -n 's/.* via=[0-9]* ms=\([0-9]*\).*/\1/p' "$OUT/failover.txt" | sort -n | awk '{ v[NR] = $1 } END { printf "failover ms over %d runs: median %s, max %s\n", NR, (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2), v[NR] }'
  [ "$HISTORY" -eq 0 ] || { grep -h '^HISTORY\|^FIRSTSTART' "$OUT/history.txt"; grep -o 'snapshot_ms=[0-9]* replayed=[0-9]* ms=[0-9]*' "$OUT/failover.txt" | sed 's/^/tenant load after failover: /'; }
  echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT/summary.txt"
grep '^CPU_S' "$OUT"/*.txt >"$OUT/cpu.txt" || true
echo "results in $OUT"
