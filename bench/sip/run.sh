#!/usr/bin/env bash
# SIP load benchmarks (issue 6): sipp on 127.0.0.1 against the Release build of src/Lineup.Server with SIP enabled.
#
#   bench/sip/run.sh [--rates "50 100 150"] [--duration SECONDS] [--call-ms MS] [--agents N]
#                    [--hold N] [--hold-ramp CALLS_PER_S] [--measure SECONDS] [--only setup|hold]
#                    [--agent-audio] [--no-build] [--out DIR]
#
# Starts the server (`dotnet run -c Release --no-build`, a fresh data dir, SIP on a free port of 127.0.0.1, RTP ports
# 20000-29999), sets up the default tenant with curl, and measures:
#   setup  call setups per second: a queue with --agents agents (wrap-up 0) whose phones are one sipp UAS process
#          (Telephony/Scenarios/agent-answer.xml; every agent registers its contact there with agent-register.xml),
#          and for each rate of --rates a sipp UAC (caller.xml) making rate x --duration calls of --call-ms. Reports
#          successful and failed calls (sipp's own counts), the achieved rate (successful / duration), the mean
#          INVITE -> 200 time, the queue's answered/abandoned counts for the run, and the server's CPU.
#   hold   concurrent callers on hold: an agent-less queue, a sipp UAC ramping to --hold concurrent calls (-l) that
#          stay until the end; once all --hold are waiting, the server's CPU (utime + stime from /proc/PID/stat)
#          over --measure seconds, CPU per call, RSS; and the interval between music packets of one stream, p50 and
#          p99, from the server's /metrics over the same window.
# /metrics has the Prometheus histogram `lineup_rtp_send_interval_seconds` (_bucket{le=...}, _count): the time
# between consecutive packets played on one stream (buckets are fine around 20 ms). The p50/p99 columns
# read "n/a" when it is absent. Targets (issue 6, 2 cores): >= 100 setups/s with no failures, >= 1,000 callers on
# hold, music interval p99 <= 25 ms.
# Prints a Markdown table; raw sipp statistics, logs and the server log stay in --out (default: a new directory
# under /tmp). Everything it starts is stopped by pid on exit. Needs sipp (sip-tester), curl, jq; root or
# CAP_NET_RAW only with --agent-audio (pcap play).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
SCEN="$ROOT/tests/Lineup.Server.Tests/Telephony/Scenarios"
PCAPS=${SIPP_PCAPS:-/usr/share/sip-tester}

RATES="50 100 150"
DURATION=30
CALL_MS=1000
AGENTS=400
HOLD=1000
HOLD_RAMP=100
MEASURE=20
ONLY="setup hold"
AGENT_AUDIO=0
BUILD=1
OUT=""

while [ $# -gt 0 ]; do
  case "$1" in
    --rates) RATES="$2"; shift 2 ;;
    --duration) DURATION="${2%s}"; shift 2 ;;
    --call-ms) CALL_MS="$2"; shift 2 ;;
    --agents) AGENTS="$2"; shift 2 ;;
    --hold) HOLD="$2"; shift 2 ;;
    --hold-ramp) HOLD_RAMP="$2"; shift 2 ;;
    --measure) MEASURE="${2%s}"; shift 2 ;;
    --only) ONLY="$2"; shift 2 ;;
    --agent-audio) AGENT_AUDIO=1; shift ;;
    --no-build) BUILD=0; shift ;;
    --out) OUT="$2"; shift 2 ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
for tool in sipp curl jq dotnet; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$tool is required (sipp: apt-get install -y sip-tester)" >&2; exit 1; }
done
[ -r "$PCAPS/g711a.pcap" ] || { echo "$PCAPS/g711a.pcap is missing (sip-tester ships it)" >&2; exit 1; }
# 1,000 calls and their sockets: sipp and the server need file descriptors.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

WORK=$(mktemp -d /tmp/lineup-sip-bench.XXXXXX)
[ -z "$OUT" ] && OUT="$WORK/results"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
SERVER_PID=""
APP_PID=""
PIDS=()   # sipp processes we started

stop_server() {
  [ -n "$SERVER_PID" ] || return 0
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
  APP_PID=""
}

stop_sipps() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 0.5
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  PIDS=()
}

cleanup() {
  stop_sipps
  stop_server
  [ "$OUT" = "$WORK/results" ] || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { # a port free for both TCP and UDP on 127.0.0.1 (SIP listens on both)
  local p
  for _ in $(seq 1 200); do
    p=$((30000 + RANDOM % 30000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
    grep -qi ":$(printf '%04X' "$p") " /proc/net/udp && continue
    echo "$p"
    return 0
  done
  echo "no free port found" >&2
  return 1
}

# --- build -------------------------------------------------------------------------------------------------------
if [ "$BUILD" -eq 1 ]; then
  echo "building src/Lineup.Server (Release)..."
  dotnet build src/Lineup.Server -c Release -warnaserror >"$OUT/build.log" 2>&1 || { tail -n 20 "$OUT/build.log"; exit 1; }
fi

# --- server ------------------------------------------------------------------------------------------------------
PASSWORD="bench-$RANDOM-$RANDOM-$RANDOM"
SIP_PASSWORD="sip-$RANDOM-$RANDOM"
PORT=$(free_port)
SIP_PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
LINEUP_ADMIN_PASSWORD="$PASSWORD" dotnet run --project src/Lineup.Server -c Release --no-build -- \
  --urls "$BASE" --data-dir "$WORK/data" \
  --Sip:Enabled=true --Sip:Listen="127.0.0.1:$SIP_PORT" --Sip:PublicAddress=127.0.0.1 \
  --Sip:RtpPortMin=20000 --Sip:RtpPortMax=29999 >"$OUT/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 240); do
  curl -sf "$BASE/readyz" >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "server exited:" >&2; tail -n 20 "$OUT/server.log" >&2; exit 1; }
  sleep 0.5
done
curl -sf "$BASE/readyz" >/dev/null || { echo "server did not become ready" >&2; exit 1; }
# The process doing the work: dotnet run's child (the server itself).
APP_PID=$(ps -o pid= --ppid "$SERVER_PID" | head -n 1 | tr -d ' ')
[ -n "$APP_PID" ] || APP_PID=$SERVER_PID
echo "server ready: http $BASE, sip 127.0.0.1:$SIP_PORT, pid $APP_PID"

TOKEN=$(curl -sS -f -X POST "$BASE/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$PASSWORD\",\"tenant\":\"default\"}" | jq -r .access_token)
api() { # method path [json]
  local args=(-sS -f -X "$1" "$BASE/api/v1$2" -H "Authorization: Bearer $TOKEN")
  [ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' -d "$3")
  curl "${args[@]}" || { echo "API $1 $2 failed (is the server's SIP front-end built? docs/design/sip.md)" >&2; return 1; }
}

CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { # utime + stime of the server (fields 14 and 15 of /proc/PID/stat; comm may hold spaces)
  sed -E 's/^.*\) //' "/proc/$APP_PID/stat" | awk '{ print $12 + $13 }'
}
rss_mb() { awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$APP_PID/status"; }
now_ms() { date +%s%3N; }

# Quantile Q of the histogram lineup_rtp_send_interval_seconds between two /metrics snapshots, in ms ("n/a" when the
# metric is absent or saw nothing). Linear inside the bucket, as Prometheus' histogram_quantile does.
interval_quantile() { # before after q
  awk -v q="$3" '
    FNR == 1 { file++ }
    /^lineup_rtp_send_interval_seconds_bucket\{/ {
      match($0, /le="[^"]+"/); le = substr($0, RSTART + 4, RLENGTH - 5)
      v = $NF + 0; if (file == 1) before[le] += v; else { after[le] += v; les[le] = 1 }
    }
    END {
      n = 0; for (le in les) { bound[++n] = (le == "+Inf") ? 1e30 : le + 0; key[n] = le }
      if (n == 0) { print "n/a"; exit }
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (bound[j] < bound[i]) {
        t = bound[i]; bound[i] = bound[j]; bound[j] = t; t = key[i]; key[i] = key[j]; key[j] = t }
      total = after[key[n]] - before[key[n]]
      if (total <= 0) { print "n/a"; exit }
      rank = q * total; prevc = 0; prevb = 0
      for (i = 1; i <= n; i++) {
        c = after[key[i]] - before[key[i]]
        if (c >= rank) {
          if (bound[i] >= 1e30) { printf "> %.1f\n", prevb * 1000; exit }
          printf "%.1f\n", (prevb + (bound[i] - prevb) * (c > prevc ? (rank - prevc) / (c - prevc) : 1)) * 1000; exit
        }
        prevc = c; prevb = bound[i]
      }
      print "n/a"
    }' "$1" "$2"
}

# Column NAME of the last line of a sipp -trace_stat file (semicolon-separated, header first).
stat_col() { # file name
  awk -F';' -v name="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next } { last = $c } END { print last }' "$1"
}
# sipp writes times as HH:MM:SS:mmmmmm; in ms.
hms_ms() { awk -F: '{ printf "%.1f", (($1 * 60 + $2) * 60 + $3) * 1000 + $4 / 1000 }' <<<"$1"; }

start_sipp() { # name scenario args... ; runs in its own folder under $WORK with the pcap links
  local name=$1 scenario=$2
  shift 2
  mkdir -p "$WORK/$name"
  ln -sf "$PCAPS/g711a.pcap" "$WORK/$name/agent.pcap"
  ln -sf "$PCAPS/g711a.pcap" "$WORK/$name/caller.pcap"
  ln -sf "$PCAPS/dtmf_2833_1.pcap" "$WORK/$name/dtmf.pcap"
  (cd "$WORK/$name" && exec sipp -sf "$SCEN/$scenario" -i 127.0.0.1 -mi 127.0.0.1 -nostdin -trace_err \
    -error_file "$OUT/$name-errors.log" "$@" >"$OUT/$name.out" 2>&1) &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
}

ROWS=()

# --- (a) call setups per second ------------------------------------------------------------------------------------
run_setup() {
  local queue agents_port media_port i agent number
  queue=$(api POST /queues '{"name":"sip-bench-setup","extension":"801","strategy":"longest_idle","wrap_up_time":0,"ring_timeout":30,"max_wait":0,"max_wait_no_agent":0,"leave_when_no_agents":false}' | jq -r .id)
  agents_port=$(free_port)
  media_port=$(( (RANDOM % 1000) * 2 + 40000 ))
  local play=0
  [ "$AGENT_AUDIO" -eq 1 ] && play=1
  # One process answers for every agent: all contacts point at it (no -m: it answers until stopped).
  start_sipp agents agent-answer.xml -p "$agents_port" -mp "$media_port" -key rtp_port "$media_port" -key report_media 0 \
    -key ring_ms 100 -key play "$play" \
    -max_socket 60000
  local agents_pid=$LAST_PID
  # The REGISTER processes use ports reg_base .. reg_base + 9 (ten at a time). (sipp -p 0 means 5060, not "any".)
  local reg_base=$(( 50000 + (RANDOM % 900) * 10 ))
  echo "setup: creating and registering $AGENTS agents..."
  for i in $(seq 1 "$AGENTS"); do
    number=$((30000 + i))
    agent=$(api POST /agents "{\"name\":\"sip bench $i\",\"number\":\"$number\"}" | jq -r .id)
    api PUT "/agents/$agent/sip" "{\"password\":\"$SIP_PASSWORD\"}" >/dev/null
    api POST "/queues/$queue/members" "{\"agent_id\":$agent,\"position\":$i}" >/dev/null
    api POST "/agents/$agent/login" >/dev/null
    printf '%s;%s\n' "$number" "$SIP_PASSWORD" >"$WORK/agent-$i.csv"
    sed -i '1i SEQUENTIAL' "$WORK/agent-$i.csv"
    (cd "$WORK" && sipp -sf "$SCEN/agent-register.xml" -i 127.0.0.1 -p $((reg_base + i % 10)) -m 1 -nostdin -timeout 15s -timeout_error \
      -inf "$WORK/agent-$i.csv" -au "$number" -ap "$SIP_PASSWORD" -key contact_port "$agents_port" -key expires 3600 \
      -default_behaviors all,-bye "127.0.0.1:$SIP_PORT" >"$OUT/register-$i.out" 2>&1) &
    # Ten registrations in flight at a time.
    if [ $((i % 10)) -eq 0 ]; then wait_registrations || return 1; fi
  done
  wait_registrations || return 1
  echo "setup: $AGENTS agents registered"

  local rate calls limit stats before after t0 t1 ok failed created setup_ms cpu answered abandoned a0 b0
  for rate in $RATES; do
    calls=$((rate * DURATION))
    limit=$((rate * (CALL_MS / 1000 + 3) * 2))
    stats="$OUT/setup-$rate.csv"
    a0=$(api GET "/queues/$queue/stats" | jq -r '.stats.answered'); b0=$(api GET "/queues/$queue/stats" | jq -r '.stats.abandoned')
    before=$(cpu_ticks); t0=$(now_ms)
    start_sipp "callers-$rate" caller.xml -p "$(free_port)" -mp $((media_port + 4)) -s 801 -key rtp_port $((media_port + 4)) \
      -key talk_ms "$CALL_MS" -key play 0 -r "$rate" -m "$calls" -l "$limit" -max_socket 60000 \
      -timeout "$((DURATION + 120))s" -timeout_error -trace_stat -stf "$stats" -fd 1 "127.0.0.1:$SIP_PORT"
    wait "$LAST_PID" || true
    t1=$(now_ms); after=$(cpu_ticks)
    sleep 2 # the last calls' CDRs
    ok=$(stat_col "$stats" 'SuccessfulCall(C)'); failed=$(stat_col "$stats" 'FailedCall(C)')
    created=$(stat_col "$stats" 'OutgoingCall(C)')
    setup_ms=$(hms_ms "$(stat_col "$stats" 'ResponseTimesetup(C)')")
    cpu=$(awk -v d="$((after - before))" -v hz="$CLK_TCK" -v ms="$((t1 - t0))" 'BEGIN { printf "%.0f", 100 * d / hz / (ms / 1000) }')
    answered=$(( $(api GET "/queues/$queue/stats" | jq -r '.stats.answered') - a0 ))
    abandoned=$(( $(api GET "/queues/$queue/stats" | jq -r '.stats.abandoned') - b0 ))
    ROWS+=("| setups | $rate/s x ${DURATION}s, ${CALL_MS} ms calls | $created | $ok | $failed | $(awk -v s="$ok" -v d="$DURATION" 'BEGIN { printf "%.1f", s / d }')/s | $setup_ms ms | answered $answered, abandoned $abandoned | $cpu% | $(rss_mb) MB | | |")
    echo "setup: rate $rate done ($ok ok, $failed failed)"
  done
  kill -TERM "$agents_pid" 2>/dev/null || true
}

wait_registrations() {
  local failed=0 j
  for j in $(jobs -p); do
    # only the registration subshells: sipp processes in PIDS are left running
    case " ${PIDS[*]} " in *" $j "*) continue ;; esac
    [ "$j" = "$SERVER_PID" ] && continue
    wait "$j" || failed=1
  done
  if [ "$failed" -ne 0 ]; then
    echo "a REGISTER failed; see $OUT/register-*.out" >&2
    return 1
  fi
}

# --- (b) concurrent callers on hold, CPU per call, (c) music packet interval ----------------------------------------
run_hold() {
  local queue waiting t0 t1 before after m0 m1 cpu idle_cpu per_call p50 p99 callers_pid ramp_limit
  queue=$(api POST /queues '{"name":"sip-bench-hold","extension":"802","strategy":"longest_idle","max_wait":0,"max_wait_no_agent":0,"leave_when_no_agents":false}' | jq -r .id)
  # Idle CPU first, over 5 s, once start-up work (JIT, the first requests) has settled.
  sleep 5
  before=$(cpu_ticks); sleep 5; after=$(cpu_ticks)
  idle_cpu=$(awk -v d="$((after - before))" -v hz="$CLK_TCK" 'BEGIN { printf "%.1f", 100 * d / hz / 5 }')
  local media_port=$(( (RANDOM % 1000) * 2 + 42000 ))
  ramp_limit=$(( HOLD / HOLD_RAMP + 60 ))
  # Each caller stays for the ramp, the measurement and a margin, then hangs up (caller.xml's talk_ms).
  local hold_ms=$(( (ramp_limit + MEASURE + 30) * 1000 ))
  start_sipp holders caller.xml -p "$(free_port)" -mp "$media_port" -s 802 -key rtp_port "$media_port" -key talk_ms "$hold_ms" \
    -key play 0 -r "$HOLD_RAMP" -m "$HOLD" -l "$HOLD" -max_socket 60000 -timeout "$(( hold_ms / 1000 + 60 ))s" \
    -trace_stat -stf "$OUT/hold.csv" -fd 1 "127.0.0.1:$SIP_PORT"
  callers_pid=$LAST_PID
  echo "hold: ramping to $HOLD callers at $HOLD_RAMP/s..."
  for _ in $(seq 1 "$ramp_limit"); do
    waiting=$(api GET "/queues/$queue/status" | jq -r .waiting)
    [ "$waiting" -ge "$HOLD" ] && break
    sleep 1
  done
  waiting=$(api GET "/queues/$queue/status" | jq -r .waiting)
  [ "$waiting" -ge "$HOLD" ] || echo "hold: WARNING only $waiting of $HOLD callers are waiting (see $OUT/holders.out)" >&2
  echo "hold: $waiting callers waiting; measuring ${MEASURE}s"
  curl -sf "$BASE/metrics" >"$OUT/metrics-before.txt" || : >"$OUT/metrics-before.txt"
  before=$(cpu_ticks); t0=$(now_ms)
  sleep "$MEASURE"
  after=$(cpu_ticks); t1=$(now_ms)
  curl -sf "$BASE/metrics" >"$OUT/metrics-after.txt" || : >"$OUT/metrics-after.txt"
  local still
  still=$(api GET "/queues/$queue/status" | jq -r .waiting)
  cpu=$(awk -v d="$((after - before))" -v hz="$CLK_TCK" -v ms="$((t1 - t0))" 'BEGIN { printf "%.1f", 100 * d / hz / (ms / 1000) }')
  per_call=$(awk -v c="$cpu" -v i="$idle_cpu" -v n="$waiting" 'BEGIN { if (n > 0) printf "%.3f%% of a core", (c - i) / n; else print "n/a" }')
  p50=$(interval_quantile "$OUT/metrics-before.txt" "$OUT/metrics-after.txt" 0.50)
  p99=$(interval_quantile "$OUT/metrics-before.txt" "$OUT/metrics-after.txt" 0.99)
  ROWS+=("| hold | $HOLD callers (ramp $HOLD_RAMP/s), ${MEASURE}s window | $HOLD | $waiting waiting at start, $still at end | | | | idle $idle_cpu%, per call $per_call | $cpu% | $(rss_mb) MB | $p50 | $p99 |")
  kill -TERM "$callers_pid" 2>/dev/null || true
}

for what in $ONLY; do
  case "$what" in
    setup) run_setup ;;
    hold) run_hold ;;
    *) echo "--only takes setup and/or hold" >&2; exit 2 ;;
  esac
done

echo
echo "SIP benchmarks, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo
echo "| test | load | calls | successful | failed | achieved | mean INVITE->200 | queue / CPU per call | server CPU | RSS | music interval p50 (ms) | p99 (ms) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for row in "${ROWS[@]}"; do echo "$row"; done
echo
echo "raw sipp statistics, logs and the server log: $OUT"
