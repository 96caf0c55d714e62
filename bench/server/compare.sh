#!/usr/bin/env bash
# Two builds of the server side by side on a busy machine (issue 11): both run at once, and short wrk slices go to
# one then the other (A B, B A, A B, ...), so a change of machine load hits both alike; the ratio of each adjacent
# pair is what to read, and its median is printed.
#
#   bench/server/compare.sh TREE_A TREE_B [--pairs N] [--seconds S] [--agents N] [--out DIR]
#
# TREE_A and TREE_B are source trees whose src/Lineup.Server is already built in Release (for a commit:
# `git archive <commit> | tar -x -C /tmp/tree && dotnet build /tmp/tree/src/Lineup.Server -c Release`). Each server
# gets a fresh SQLite data dir on a free port of 127.0.0.1 and the tenant of bench/server/run.sh (a queue of --agents
# logged-in agents, wrap-up 0, auto-ready). Per slice it records wrk's rate (status reads: requests/s; call cycles:
# durable writes/s) and the server's CPU time (/proc/<pid>/stat), hence CPU µs per request; with dotnet-counters
# installed (dotnet tool install -g dotnet-counters) also the bytes allocated per request over the whole phase.
# Every process it starts is stopped by pid on exit.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cd "$(dirname "$0")/../.."
HERE="$(pwd)/bench/server"
[ $# -ge 2 ] || { sed -n '2,16p' "$0"; exit 2; }
TREE_A=$(cd "$1" && pwd)
TREE_B=$(cd "$2" && pwd)
shift 2
PAIRS=6
SECONDS_PER_SLICE=5
AGENTS=100
OUT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --pairs) PAIRS="$2"; shift 2 ;;
    --seconds) SECONDS_PER_SLICE="$2"; shift 2 ;;
    --agents) AGENTS="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done
for tool in wrk curl jq python3; do command -v "$tool" >/dev/null 2>&1 || { echo "$tool is required" >&2; exit 1; }; done
COUNTERS=$(command -v dotnet-counters || { [ -x "$HOME/.dotnet/tools/dotnet-counters" ] && echo "$HOME/.dotnet/tools/dotnet-counters"; } || true)
WORK=$(mktemp -d /tmp/lineup-compare.XXXXXX)
[ -z "$OUT" ] && OUT="$WORK/results"
mkdir -p "$OUT"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

declare -A URL TOKEN QUEUE PID
COUNTER_PIDS=()
cleanup() {
  for p in "${COUNTER_PIDS[@]}" "${PID[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${COUNTER_PIDS[@]}" "${PID[@]}"; do wait "$p" 2>/dev/null || true; done
  [ "$OUT" = "$WORK/results" ] || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM


api() { local s=$1; shift; api_at "${URL[$s]}" "${TOKEN[$s]}" "$@"; } # server method path [json]

start() { # name tree
  local port password="bench-$RANDOM-$RANDOM" i agent
  port=$(free_port)
  URL[$1]="http://127.0.0.1:$port"
  mkdir -p "$WORK/data-$1"
  (cd "$2/src/Lineup.Server" && LINEUP_ADMIN_PASSWORD="$password" exec dotnet bin/Release/net10.0/Lineup.Server.dll \
    --urls "${URL[$1]}" --data-dir "$WORK/data-$1" >"$OUT/server-$1.log" 2>&1) &
  PID[$1]=$!
  for _ in $(seq 1 240); do curl -sf "${URL[$1]}/readyz" >/dev/null 2>&1 && break; sleep 0.5; done
  curl -sf "${URL[$1]}/readyz" >/dev/null || { echo "server $1 did not start" >&2; tail -n 20 "$OUT/server-$1.log" >&2; exit 1; }
  TOKEN[$1]=$(curl -sS -f -X POST "${URL[$1]}/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"username\":\"admin\",\"password\":\"$password\"}" | jq -r .access_token)
  QUEUE[$1]=$(api "$1" POST /queues '{"name":"bench","strategy":"longest_idle","wrap_up_time":0,"agent_auto_ready":true}' | jq -r .id)
  for i in $(seq 1 "$AGENTS"); do
    agent=$(api "$1" POST /agents "{\"name\":\"bench $i\",\"number\":\"$((5000 + i))\"}" | jq -r .id)
    api "$1" POST "/queues/${QUEUE[$1]}/members" "{\"agent_id\":$agent,\"position\":$i}" >/dev/null
    api "$1" POST "/agents/$agent/login" >/dev/null
  done
}

hang_up_leftovers() { # name
  local ids id
  while :; do
    ids=$(api "$1" GET "/queues/${QUEUE[$1]}/calls?limit=500" | jq -r '.items[].id')
    [ -n "$ids" ] || break
    for id in $ids; do api "$1" POST "/calls/$id/events" '{"type":"caller_hangup"}' >/dev/null || true; done
  done
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

slice() { # name kind duration -> "rate requests ticks"
  local before after out="$WORK/slice.txt"
  before=$(cpu_ticks "${PID[$1]}")
  LINEUP_TOKEN="${TOKEN[$1]}" LINEUP_QUEUE="${QUEUE[$1]}" LINEUP_RATE=0 LINEUP_THREADS=2 \
    wrk -t2 -c64 -d"${3}s" -s "$HERE/$2.lua" "${URL[$1]}" >"$out"
  after=$(cpu_ticks "${PID[$1]}")
  [ "$2" = callcycle ] && hang_up_leftovers "$1"
  local line rate requests
  line=$(grep -E '^(STATUS|CALLCYCLE) ' "$out" | head -n 1)
  requests=$(echo "$line" | tr ' ' '\n' | sed -n 's/^requests=//p')
  if [ "$2" = status ]; then rate=$(echo "$line" | tr ' ' '\n' | sed -n 's/^rps=//p')
  else rate=$(echo "$line" | tr ' ' '\n' | sed -n 's/^writes_per_s=//p'); fi
  echo "$rate $requests $((after - before))"
}

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); A=$TREE_A B=$TREE_B; $PAIRS pairs of ${SECONDS_PER_SLICE}s slices" | tee "$OUT/machine.txt"
start A "$TREE_A"
start B "$TREE_B"
for s in A B; do slice "$s" status 5 >/dev/null; slice "$s" callcycle 5 >/dev/null; done
TICK_US=$((1000000 / $(getconf CLK_TCK)))
: >"$OUT/slices.txt"
for kind in status callcycle; do
  if [ -n "$COUNTERS" ]; then
    for s in A B; do
      "$COUNTERS" collect -p "${PID[$s]}" --counters System.Runtime --refresh-interval 1 --format csv -o "$OUT/counters-$kind-$s.csv" >/dev/null 2>&1 &
      COUNTER_PIDS+=($!)
    done
    sleep 2
  fi
  for i in $(seq 1 "$PAIRS"); do
    if [ $((i % 2)) = 1 ]; then a=$(slice A "$kind" "$SECONDS_PER_SLICE"); b=$(slice B "$kind" "$SECONDS_PER_SLICE")
    else b=$(slice B "$kind" "$SECONDS_PER_SLICE"); a=$(slice A "$kind" "$SECONDS_PER_SLICE"); fi
    echo "$kind $i $(cut -d' ' -f1 /proc/loadavg) $a $b" | tee -a "$OUT/slices.txt"
  done
  if [ -n "$COUNTERS" ]; then
    for p in "${COUNTER_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    COUNTER_PIDS=()
  fi
done

python3 - "$OUT" "$TICK_US" <<'PY'
import csv, os, statistics, sys
out, tick_us = sys.argv[1], int(sys.argv[2])
rows = [l.split() for l in open(os.path.join(out, "slices.txt"))]
def allocated(kind, side):
    path = os.path.join(out, f"counters-{kind}-{side}.csv")
    if not os.path.exists(path): return None
    total = 0.0
    with open(path) as f:
        for r in csv.reader(f):
            if len(r) >= 5 and "total_allocated" in r[2]:
                try: total += float(r[4])
                except ValueError: pass
    return total or None
print("| figure | A (median) | B (median) | B / A, median of pairs (min-max) | load |")
print("|---|---:|---:|---:|---|")
for kind, label in (("status", "status reads / s"), ("callcycle", "saturating durable writes / s")):
    k = [r for r in rows if r[0] == kind]
    if not k: continue
    a = [float(r[3]) for r in k]; b = [float(r[6]) for r in k]
    ratios = [y / x for x, y in zip(a, b) if x > 0]
    loads = [float(r[2]) for r in k]
    print(f"| {label} | {statistics.median(a):,.0f} | {statistics.median(b):,.0f} | {statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f}) | {min(loads):.0f}-{max(loads):.0f} |")
    cpu = []
    for side, req_col, tick_col in (("A", 4, 5), ("B", 7, 8)):
        req = sum(int(r[req_col]) for r in k); ticks = sum(int(r[tick_col]) for r in k)
        cpu.append((ticks * tick_us / req if req else 0, req))
    print(f"| {kind}: server CPU µs per request | {cpu[0][0]:.1f} | {cpu[1][0]:.1f} | {cpu[1][0] / cpu[0][0]:.2f} | |")
    alloc = [allocated(kind, s) for s in ("A", "B")]
    if all(alloc):
        per = [alloc[0] / cpu[0][1], alloc[1] / cpu[1][1]]
        print(f"| {kind}: bytes allocated per request | {per[0]:,.0f} | {per[1]:,.0f} | {per[1] / per[0]:.2f} | |")
PY
echo "raw output: $OUT"
