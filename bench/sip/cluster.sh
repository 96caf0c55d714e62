#!/usr/bin/env bash
# SIP through Kamailio in front of a Lineup cluster (issue 14): one node, then three, on 127.0.0.1-3 over a throwaway
# PostgreSQL, with deploy/kamailio/kamailio.cfg run unchanged on a free port of 127.0.0.1.
#
#   bench/sip/cluster.sh [--agents N] [--rate CALLS_PER_S] [--duration SECONDS] [--call-ms MS] [--hold N]
#                        [--measure SECONDS] [--kills N] [--waiting N] [--node-args "ARGS"] [--no-build] [--out DIR]
#
# --node-args: more arguments for every node (e.g. "--Cluster:SipCacheSeconds=0" to read registrations for every offer).
# LINEUP_SERVER_DLL=PATH runs that build of the server instead of src/Lineup.Server/bin/Release (a copy kept aside, so
# that building meanwhile does not change the running nodes' files; with --no-build).
# Agents (--agents, default 100) get SIP passwords, log in, and their phones (2 sipp UAS processes answering every
# call, agent-answer.xml) register through Kamailio (bench/sip/Lineup.SipPhones). For one node, then three nodes:
#   setup  sipp (caller.xml) places --rate calls/s for --duration s through Kamailio to the agents' queue, each call
#          --call-ms long: successful and failed calls, INVITE -> 200 mean, and each node's CPU seconds, summed and
#          per successful call, and PostgreSQL transactions (pg_stat_database, all nodes) per successful call.
#   hold   --hold callers (default 200) call a queue without agents through Kamailio and stay on hold with music; over
#          --measure s: each node's CPU, and the sum per caller.
# Then, --kills times (three nodes): --waiting callers (default 30) wait in a queue whose agents are not ready, spread
# over the nodes by Kamailio; node 2 or 3 (the one carrying more of them, never the tenant's node) is killed with
# SIGKILL while sipp places 10 new calls/s for 10 s through Kamailio; then the agents are made ready. Reported: the
# new calls placed after the kill that failed, the longest INVITE -> 200 among them (the time until a new call
# succeeds: calls Kamailio first sends to the dead node are answered by another after its 2 s fr_timer), the waiting
# callers whose media node died and whose CDR says lost_on_node_failure, and the share of the others (on surviving
# nodes) that were answered. The killed node is started again for the next run.
# CPU is utime + stime from /proc/PID/stat. Prints a Markdown table; raw sipp statistics and logs stay in --out.
# Everything it starts is stopped by pid on exit. Needs sipp (sip-tester), kamailio, curl, jq, psql, PostgreSQL.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
SCEN="$ROOT/tests/Lineup.Server.Tests/Telephony/Scenarios"
PCAPS=${SIPP_PCAPS:-/usr/share/sip-tester}

AGENTS=100
RATE=20
DURATION=20
CALL_MS=2000
HOLD=200
MEASURE=15
KILLS=3
WAITING=30
BUILD=1
OUT=""
NODE_ARGS=""
while [ $# -gt 0 ]; do
  case "$1" in
    --agents) AGENTS="$2"; shift 2 ;;
    --rate) RATE="$2"; shift 2 ;;
    --duration) DURATION="${2%s}"; shift 2 ;;
    --call-ms) CALL_MS="$2"; shift 2 ;;
    --hold) HOLD="$2"; shift 2 ;;
    --measure) MEASURE="${2%s}"; shift 2 ;;
    --kills) KILLS="$2"; shift 2 ;;
    --waiting) WAITING="$2"; shift 2 ;;
    --node-args) NODE_ARGS="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --out) OUT="$2"; shift 2 ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done
for tool in sipp kamailio curl jq psql dotnet; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$tool is required (apt-get install -y sip-tester kamailio curl jq postgresql)" >&2; exit 1; }
done
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
ulimit -n 65536 2>/dev/null || true

WORK=$(mktemp -d /tmp/lineup-sip-cluster-bench.XXXXXX)
[ -z "$OUT" ] && OUT="$WORK/results"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
PG_DIR=$(mktemp -d /tmp/lineup-sip-cluster-bench-pg.XXXXXX)
declare -A PID HTTP SILO SIP
KAM_PID=""
PIDS=()

stop_pid() { # pid
  [ -n "$1" ] || return 0
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.2; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
stop_kamailio() { # kamailio's workers are its children
  [ -n "$KAM_PID" ] || return 0
  local children
  children=$(ps -o pid= --ppid "$KAM_PID" 2>/dev/null || true)
  for p in $children; do kill -KILL "$p" 2>/dev/null || true; done
  stop_pid "$KAM_PID"
  KAM_PID=""
}
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  stop_kamailio
  for i in 1 2 3; do stop_pid "${PID[$i]:-}"; done
  bash scripts/ci-postgres.sh stop "$PG_DIR" >/dev/null 2>&1 || true
  [ "$OUT" = "$WORK/results" ] || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

udp_free() { # a port free for TCP and UDP on 127.0.0.1
  local p
  for _ in $(seq 1 200); do
    p=$((40000 + RANDOM % 20000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
    grep -qi ":$(printf '%04X' "$p") " /proc/net/udp && continue
    echo "$p"; return 0
  done
  return 1
}

if [ "$BUILD" -eq 1 ]; then
  echo "building src/Lineup.Server and bench/sip/Lineup.SipPhones (Release)..."
  dotnet build src/Lineup.Server -c Release -warnaserror >"$OUT/build.log" 2>&1 || { tail -n 20 "$OUT/build.log"; exit 1; }
  dotnet build bench/sip/Lineup.SipPhones -c Release -warnaserror >>"$OUT/build.log" 2>&1 || { tail -n 20 "$OUT/build.log"; exit 1; }
fi
DLL=${LINEUP_SERVER_DLL:-"$ROOT/src/Lineup.Server/bin/Release/net10.0/Lineup.Server.dll"}
PHONES="$ROOT/bench/sip/Lineup.SipPhones/bin/Release/net10.0/Lineup.SipPhones.dll"

PG=$(bash scripts/ci-postgres.sh start "$PG_DIR" </dev/null 2>"$OUT/postgres.log")
PSQL_URL=$(awk -F';' '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
  END { printf "postgresql://%s:%s@%s:%s/%s", v["Username"], v["Password"], v["Host"], v["Port"], v["Database"] }' <<<"$PG")
PASSWORD="bench-$RANDOM-$RANDOM-$RANDOM"
SIP_PASSWORD="sip-$RANDOM-$RANDOM"
for i in 1 2 3; do
  HTTP[$i]="http://127.0.0.$i:$(free_port 127.0.0.$i)"
  SILO[$i]=$(free_port 127.0.0.$i)
  SIP[$i]=$(udp_free)
done
KAM_PORT=$(udp_free)
KAM="127.0.0.1:$KAM_PORT"

start_node() { # i
  local i=$1
  LINEUP_ADMIN_PASSWORD="$PASSWORD" dotnet "$DLL" --urls "${HTTP[$i]}" --data-dir "$WORK/data-$i" --db "$PG" \
    --Cluster:Enabled=true --Cluster:AdvertisedAddress="127.0.0.$i" --Cluster:SiloPort="${SILO[$i]}" \
    --Sip:Enabled=true --Sip:Listen="127.0.0.$i:${SIP[$i]}" --Sip:PublicAddress="127.0.0.$i" \
    --Sip:RtpPortMin=$((20000 + i * 6000)) --Sip:RtpPortMax=$((25999 + i * 6000)) \
    --Logging:LogLevel:Default=Warning $NODE_ARGS >>"$OUT/node-$i.log" 2>&1 &
  PID[$i]=$!
}
wait_ready() { # i
  for _ in $(seq 1 480); do
    curl -sf "${HTTP[$1]}/readyz" >/dev/null 2>&1 && return 0
    kill -0 "${PID[$1]}" 2>/dev/null || { echo "node $1 exited:" >&2; tail -n 20 "$OUT/node-$1.log" >&2; return 1; }
    sleep 0.25
  done
  echo "node $1 did not become ready" >&2; return 1
}
start_kamailio() { # node indexes...: Kamailio (the shipped config) in front of them, on the same port each time
  stop_kamailio
  local list="$WORK/nodes.list" i
  : >"$list"
  for i in "$@"; do echo "1 sip:127.0.0.$i:${SIP[$i]}" >>"$list"; done
  mkdir -p "$WORK/kamailio"
  kamailio -DD -E -f "$ROOT/deploy/kamailio/kamailio.cfg" -Y "$WORK/kamailio" -P "$WORK/kamailio/pid" -m 64 -M 8 \
    -A "LISTEN=udp:$KAM" -A "NODES=\"$list\"" >>"$OUT/kamailio.log" 2>&1 &
  KAM_PID=$!
  sleep 3 # probes mark the nodes active
}
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f\n", ($14 + $15) / hz }' "/proc/$1/stat" 2>/dev/null || echo 0; }
cpus() { local i; for i in 1 2 3; do if [ -n "${PID[$i]:-}" ]; then cpu "${PID[$i]}"; else echo 0; fi; done | paste -sd' '; }
cpu_delta() { paste <(tr ' ' '\n' <<<"$1") <(tr ' ' '\n' <<<"$2") | awk '{ printf "%.1f ", $2 - $1 }' | sed 's/ $//'; }
sum() { tr ' ' '\n' <<<"$1" | awk '{ s += $1 } END { printf "%.1f", s }'; }
load() { cut -d' ' -f1 /proc/loadavg; }
stat_col() { awk -F';' -v name="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next } { last = $c } END { print last }' "$1"; }
hms_ms() { awk -F: '{ printf "%.0f", (($1 * 60 + $2) * 60 + $3) * 1000 + $4 / 1000 }' <<<"$1"; }
rtt_max() { cat "$@" 2>/dev/null | awk -F';' '$2 ~ /^[0-9.]+$/ && $2 > m { m = $2 } END { printf "%.0f", m }'; }
start_sipp() { # name scenario args...
  local name=$1 scenario=$2
  shift 2
  mkdir -p "$WORK/$name"
  ln -sf "$PCAPS/g711a.pcap" "$WORK/$name/agent.pcap"; ln -sf "$PCAPS/g711a.pcap" "$WORK/$name/caller.pcap"
  ln -sf "$PCAPS/dtmf_2833_1.pcap" "$WORK/$name/dtmf.pcap"
  (cd "$WORK/$name" && exec sipp -sf "$SCEN/$scenario" -i 127.0.0.1 -mi 127.0.0.1 -nostdin -trace_err \
    -error_file "$OUT/$name-errors.log" "$@" >"$OUT/$name.out" 2>&1) &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
}
MEDIA=$(( (RANDOM % 20) * 100 + 62000 ))
next_media() { MP=$MEDIA; MEDIA=$((MEDIA + 10)); }

start_node 1
wait_ready 1
start_kamailio 1
TOKEN=$(curl -sS -f -X POST "${HTTP[1]}/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$PASSWORD\",\"tenant\":\"default\"}" | jq -r .access_token)
API_BASE=${HTTP[1]} # a node that stays up: node 1 until a kill run picks the tenant's node
api() { api_at "$API_BASE" "$TOKEN" "$@"; }
QUEUE=$(api POST /queues '{"name":"agents","extension":"801","strategy":"longest_idle","wrap_up_time":0,"ring_timeout":30,"max_wait":0,"max_wait_no_agent":0,"leave_when_no_agents":false}' | jq -r .id)
HOLDQ=$(api POST /queues '{"name":"hold","extension":"802","max_wait":0,"max_wait_no_agent":0,"leave_when_no_agents":false}' | jq -r .id)
WAITQ=$(api POST /queues '{"name":"waiting","extension":"803","strategy":"longest_idle","wrap_up_time":0,"ring_timeout":30,"max_wait":0,"max_wait_no_agent":0,"leave_when_no_agents":false}' | jq -r .id)
contacts=""
for k in 1 2; do
  port=$(udp_free); next_media
  start_sipp "agents-$k" agent-answer.xml -p "$port" -mp "$MP" -key rtp_port "$MP" -key report_media 0 -key ring_ms 100 \
    -key play 0 -max_socket 60000
  contacts="$contacts${contacts:+,}$port"
done
dotnet "$PHONES" provision --api "${HTTP[1]}" --token "$TOKEN" --queue "$QUEUE" --agents "$AGENTS" --first 30001 --password "$SIP_PASSWORD"
dotnet "$PHONES" provision --api "${HTTP[1]}" --token "$TOKEN" --queue "$WAITQ" --agents "$WAITING" --first 40001 --password "$SIP_PASSWORD"
register_all() {
  dotnet "$PHONES" register --sip "$KAM" --first 30001 --count "$AGENTS" --password "$SIP_PASSWORD" --contacts "$contacts" --expires 3600
  dotnet "$PHONES" register --sip "$KAM" --first 40001 --count "$WAITING" --password "$SIP_PASSWORD" --contacts "$contacts" --expires 3600
}
register_all
# The waiting queue's agents stay not ready until a kill run asks for them.
WAIT_AGENTS=$(api GET "/queues/$WAITQ/members" | jq -r '.items[].agent_id')
set_wait_agents() { local a; for a in $WAIT_AGENTS; do api PUT "/agents/$a/status" "{\"status\":\"$1\"}" >/dev/null; done; }
set_wait_agents not_ready

ROWS=()
xacts() { psql -qtA "$PSQL_URL" -c "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"; }
run_setup() { # nodes
  local n=$1 name="setup-$1" stats before after ok failed mean d tx
  stats="$OUT/$name.csv"; next_media
  tx=$(xacts)
  before=$(cpus)
  start_sipp "$name" caller.xml -p "$(udp_free)" -mp "$MP" -s 801 -key rtp_port "$MP" -key talk_ms "$CALL_MS" -key play 0 \
    -r "$RATE" -m $((RATE * DURATION)) -l $((RATE * (CALL_MS / 1000 + 3) * 2)) -max_socket 60000 \
    -timeout "$((DURATION + 120))s" -trace_stat -stf "$stats" -fd 1 "$KAM"
  wait "$LAST_PID" || true
  after=$(cpus)
  tx=$(( $(xacts) - tx ))
  ok=$(stat_col "$stats" 'SuccessfulCall(C)'); failed=$(stat_col "$stats" 'FailedCall(C)')
  mean=$(hms_ms "$(stat_col "$stats" 'ResponseTimesetup(C)')")
  d=$(cpu_delta "$before" "$after")
  ROWS+=("| setup | $n | $RATE/s x ${DURATION}s, ${CALL_MS} ms calls | $ok ok, $failed failed | INVITE->200 mean $mean ms | $d | $(awk -v c="$(sum "$d")" -v n="$ok" 'BEGIN { if (n > 0) printf "%.1f ms", 1000 * c / n; else print "n/a" }') per call, $(awk -v t="$tx" -v n="$ok" 'BEGIN { if (n > 0) printf "%.1f", t / n; else print "n/a" }') PostgreSQL transactions per call | $(load) |")
  echo "setup, $n node(s): $ok ok, $failed failed, mean $mean ms, CPU s per node $d, PostgreSQL transactions $tx"
}
run_hold() { # nodes
  local n=$1 name="hold-$1" waiting before after d hold_ms
  hold_ms=$(( (HOLD / 50 + 10 + MEASURE + 10) * 1000 )); next_media
  start_sipp "$name" caller.xml -p "$(udp_free)" -mp "$MP" -s 802 -key rtp_port "$MP" -key talk_ms "$hold_ms" -key play 0 \
    -r 50 -m "$HOLD" -l "$HOLD" -max_socket 60000 -timeout "$(( hold_ms / 1000 + 120 ))s" "$KAM"
  local callers=$LAST_PID
  for _ in $(seq 1 120); do
    waiting=$(api GET "/queues/$HOLDQ/status" | jq -r .waiting)
    [ "$waiting" -ge "$HOLD" ] && break
    sleep 1
  done
  sleep 2
  before=$(cpus); sleep "$MEASURE"; after=$(cpus)
  d=$(cpu_delta "$before" "$after")
  ROWS+=("| hold | $n | $HOLD callers on hold, ${MEASURE}s | $waiting waiting | | $(tr ' ' '\n' <<<"$d" | awk -v m="$MEASURE" '{ printf "%.0f%% ", 100 * $1 / m }') | $(awk -v c="$(sum "$d")" -v n="$waiting" -v m="$MEASURE" 'BEGIN { if (n > 0) printf "%.3f%% of a core", 100 * c / m / n; else print "n/a" }') per caller | $(load) |")
  echo "hold, $n node(s): $waiting waiting, CPU s per node over ${MEASURE}s: $d"
  wait "$callers" || true
}
tenant_node() {
  local url
  url=$(curl -sS -D - -o /dev/null "$API_BASE/api/v1/queues/$QUEUE/status" -H "Authorization: Bearer $TOKEN" | tr -d '\r' | sed -n 's/^[Xx]-[Ll]ineup-[Nn]ode: //p')
  for i in 1 2 3; do [ "$url" = "${HTTP[$i]}" ] && echo "$i"; done
  return 0
}
run_kill() { # run
  local r=$1 owner victim name stats before_calls lost lost_ok answered alive ok failed worst
  owner=$(tenant_node)
  API_BASE=${HTTP[$owner]}
  next_media
  start_sipp "waiting-$r" caller.xml -p "$(udp_free)" -mp "$MP" -s 803 -key rtp_port "$MP" -key talk_ms 40000 -key play 0 \
    -r 20 -m "$WAITING" -l "$WAITING" -max_socket 60000 -timeout 120s "$KAM"
  local waiters=$LAST_PID
  for _ in $(seq 1 60); do
    [ "$(curl -sf "$API_BASE/api/v1/queues/$WAITQ/status" -H "Authorization: Bearer $TOKEN" | jq -r .waiting)" -ge "$WAITING" ] && break
    sleep 0.5
  done
  # The node (not the tenant's) carrying more of the waiting callers.
  victim=$(psql -qtA "$PSQL_URL" -c "SELECT split_part(node, ':', 1) FROM sip_media_calls" | sort | uniq -c | sort -rn \
    | awk -v o="127.0.0.$owner" '$2 != o { print substr($2, 9); exit }')
  [ -n "$victim" ] || { echo "kill #$r: no waiting caller on a node other than the tenant's" >&2; return 0; }
  # This run's waiting callers and their media nodes.
  local ids
  ids=$(curl -sf "$API_BASE/api/v1/queues/$WAITQ/calls?limit=500" -H "Authorization: Bearer $TOKEN" | jq -r '[.items[] | select(.state == "waiting") | .id] | join(",")')
  psql -qtA "$PSQL_URL" -c "SELECT call_id || ' ' || split_part(node, ':', 1) FROM sip_media_calls WHERE call_id IN ($ids)" >"$OUT/kill-$r-media.txt"
  name="fresh-$r"; stats="$OUT/$name.csv"; next_media
  kill -KILL "${PID[$victim]}"; wait "${PID[$victim]}" 2>/dev/null || true; PID[$victim]=""
  start_sipp "$name" caller-abandons.xml -p "$(udp_free)" -mp "$MP" -s 802 -key rtp_port "$MP" -key wait_ms 500 -key play 0 \
    -r 10 -m 100 -l 100 -timeout 60s -trace_stat -stf "$stats" -fd 1 -trace_rtt -rtt_freq 1 "$KAM"
  local fresh=$LAST_PID
  sleep 3
  set_wait_agents ready
  wait "$fresh" || true
  ok=$(stat_col "$stats" 'SuccessfulCall(C)'); failed=$(stat_col "$stats" 'FailedCall(C)')
  worst=$(rtt_max "$WORK/$name"/*_rtt.csv)
  sleep 5
  lost=0; lost_ok=0; alive=0; answered=0
  while read -r call ip; do
    disp=$(curl -sf "$API_BASE/api/v1/cdrs?queue_id=$WAITQ&limit=500" -H "Authorization: Bearer $TOKEN" | jq -r ".items[] | select(.call_id == $call) | .disposition")
    state=$(curl -sf "$API_BASE/api/v1/calls/$call" -H "Authorization: Bearer $TOKEN" | jq -r .state)
    if [ "$ip" = "127.0.0.$victim" ]; then lost=$((lost + 1)); [ "$disp" = "lost_on_node_failure" ] && lost_ok=$((lost_ok + 1))
    else alive=$((alive + 1)); [ "$state" = "connected" ] || [ "$disp" = "answered" ] && answered=$((answered + 1)); fi
  done <"$OUT/kill-$r-media.txt"
  ROWS+=("| kill #$r | 3 -> 2 | node $victim killed (tenant on node $owner); 10 new calls/s for 10 s | new calls: $ok ok, $failed failed | longest INVITE->200 after the kill $worst ms | waiting callers: $lost on the dead node, $lost_ok of them lost_on_node_failure | $answered of $alive on surviving nodes answered | $(load) |")
  echo "kill #$r: node $victim; new calls $ok ok $failed failed, longest setup $worst ms; lost $lost_ok/$lost; answered $answered/$alive"
  kill -TERM "$waiters" 2>/dev/null || true; wait "$waiters" 2>/dev/null || true
  set_wait_agents not_ready
  # The callers were stopped without a BYE: end what they left, so that the next run starts from an empty queue.
  for id in $(curl -sf "$API_BASE/api/v1/queues/$WAITQ/calls?limit=500" -H "Authorization: Bearer $TOKEN" | jq -r '.items[].id'); do
    api POST "/calls/$id/events" '{"type":"caller_hangup"}' >/dev/null 2>&1 || true
  done
  sleep 2
  start_node "$victim"; wait_ready "$victim"; sleep 3
}

run_setup 1
run_hold 1
start_node 2; start_node 3; wait_ready 2; wait_ready 3
start_kamailio 1 2 3
run_setup 3
run_hold 3
for r in $(seq 1 "$KILLS"); do run_kill "$r"; done

echo
echo "SIP through Kamailio, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), $(git rev-parse --short HEAD); $AGENTS agents at 2 sipp UAS"
echo
echo "| test | nodes | load | calls | latency | CPU s per node (1 2 3) / CPU % | per call / caller | load avg |"
echo "|---|---|---|---|---|---|---|---|"
for row in "${ROWS[@]}"; do echo "$row"; done
echo
echo "raw sipp statistics and logs: $OUT"
