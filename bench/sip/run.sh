#!/usr/bin/env bash
# SIP load benchmarks (issues 6 and 17): sipp on 127.0.0.1 against the Release build of src/Lineup.Server with SIP on.
#
#   bench/sip/run.sh [--only "idle hold setup"] [--runs N] [--agents N] [--uas K] [--ring-ms MS]
#                    [--rates "50 100 150"] [--duration SECONDS] [--call-ms MS]
#                    [--hold "1000 5000"] [--hold-ramp CALLS_PER_S] [--measure SECONDS] [--idle-seconds SECONDS]
#                    [--tree DIR] [--agent-audio] [--perf] [--no-build] [--out DIR] [--server-arg ARG]...
#                    [--rtp-ports MIN-MAX]
#
# Starts the server (a fresh data dir, SIP on a free port of 127.0.0.1, RTP ports 20000-39999 unless --rtp-ports
# gives others, e.g. 10000-19999 beside a test run or another benchmark that uses 20000-39999), creates a queue
# (longest idle, wrap-up 0) with --agents agents whose SIP passwords are set and who are logged in, and registers
# every agent's phone (bench/sip/Lineup.SipPhones: REGISTER with digest auth) at one of --uas sipp UAS processes
# (Telephony/Scenarios/agent-answer.xml, answering after --ring-ms). Then, in the order of --only, each --runs times:
#   idle   the server's CPU over --idle-seconds with every phone registered and no call, and which threads used it.
#   hold   for each size in --hold: a queue without agents, a sipp UAC ramping to that many callers at --hold-ramp/s
#          who stay on hold; once all are waiting, over --measure seconds: the server's CPU, CPU per caller (idle
#          CPU of this run subtracted), RSS, and the interval between music packets of one stream, p50 and p99, from
#          the server's /metrics histogram `lineup_rtp_send_interval_seconds`; beside it (in the log lines) the
#          music packets sent per second (a starved media thread skips ticks: fewer packets, less CPU), the RTCP
#          reports sent per second (`lineup_rtcp_packets_sent_total`: about one per caller every 4 s), the media
#          clock's tick lateness p99 (`lineup_rtp_tick_lateness_seconds`), the GC's collections and pause time
#          over the window (`dotnet_gc_*`) and the scheduling policy of the media threads (SCHED_OTHER or, with
#          `--server-arg --Sip:MediaRealtimePriority=N`, SCHED_RR). The callers then hang up by
#          themselves and the next run waits until the queue is empty.
#   setup  for each rate of --rates: a sipp UAC (caller.xml) making rate x --duration calls of --call-ms through the
#          agents' queue: successful and failed calls (sipp's counts), the achieved rate, INVITE -> 200 (Lineup's
#          answer) mean and p99 (sipp -trace_rtt), answered/abandoned from the queue's statistics, the server's CPU
#          and CPU per call, and the machine's whole CPU (server + sipp) from /proc/stat; in the log lines, sipp's
#          retransmissions, calls failed on retransmission timeout, datagrams the kernel dropped at the server's
#          SIP socket (/proc/net/udp), and new INVITEs refused with 503 by overload control (the server's
#          lineup_sip_invites_shed_total; `--server-arg --Sip:Overload:Fraction=1 --server-arg
#          --Sip:Overload:MaxReceiveDelayMs=0` turns it off but for the transaction bound itself, the baseline). With --settle S, after each rate: S seconds with no call (lingering
#          transactions end 32 s after their call), then the server's RSS and, when dotnet-gcdump is installed, the
#          live managed heap after the full collection a heap dump makes (is the memory of the calls returned?).
# Server CPU is utime + stime of the server process from /proc/PID/stat; the load average is printed with each row.
# --tree DIR runs (and builds, unless --no-build) the server of another checkout, e.g. main exported with
# `git archive main | tar -x -C /tmp/base`: the same workload against a baseline. --server-arg adds one argument to
# the server's command line (repeatable), e.g. `--server-arg --Sip:MediaRealtimePriority=10`. Prints a Markdown
# table; raw sipp statistics, logs and the server log stay in --out (default: a new directory under /tmp). Everything it starts is
# stopped by pid on exit. Needs sipp (sip-tester), curl, jq; root or CAP_NET_RAW only with --agent-audio.
# --perf records each measured window with `perf record -g` into --out (the server runs with DOTNET_PerfMapEnabled=1
# so that JIT-compiled frames have names): `perf report -i OUT/perf-hold-1000-1.data --no-children`.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
SCEN="$ROOT/tests/Lineup.Server.Tests/Telephony/Scenarios"
PCAPS=${SIPP_PCAPS:-/usr/share/sip-tester}

ONLY="idle hold setup"
RUNS=1
AGENTS=1000
UAS=4
RING_MS=100
RATES="50 100 150"
DURATION=30
SETTLE=0
CALL_MS=1000
HOLD="1000"
HOLD_RAMP=100
RTP_PORTS="20000-39999"
MEASURE=20
IDLE_SECONDS=20
TREE="$ROOT"
AGENT_AUDIO=0
PERF=0
BUILD=1
OUT=""
SERVER_ARGS=()

while [ $# -gt 0 ]; do
  case "$1" in
    --only) ONLY="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --agents) AGENTS="$2"; shift 2 ;;
    --uas) UAS="$2"; shift 2 ;;
    --ring-ms) RING_MS="$2"; shift 2 ;;
    --rates) RATES="$2"; shift 2 ;;
    --duration) DURATION="${2%s}"; shift 2 ;;
    --call-ms) CALL_MS="$2"; shift 2 ;;
    --settle) SETTLE="${2%s}"; shift 2 ;;
    --hold) HOLD="$2"; shift 2 ;;
    --hold-ramp) HOLD_RAMP="$2"; shift 2 ;;
    --rtp-ports) RTP_PORTS="$2"; shift 2 ;;
    --measure) MEASURE="${2%s}"; shift 2 ;;
    --idle-seconds) IDLE_SECONDS="${2%s}"; shift 2 ;;
    --tree) TREE=$(cd "$2" && pwd); shift 2 ;;
    --agent-audio) AGENT_AUDIO=1; shift ;;
    --perf) PERF=1; shift ;;
    --no-build) BUILD=0; shift ;;
    --out) OUT="$2"; shift 2 ;;
    --server-arg) SERVER_ARGS+=("$2"); shift 2 ;;
    -h|--help) sed -n '2,36p' "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
for tool in sipp curl jq dotnet; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$tool is required (sipp: apt-get install -y sip-tester)" >&2; exit 1; }
done
[ -r "$PCAPS/g711a.pcap" ] || { echo "$PCAPS/g711a.pcap is missing (sip-tester ships it)" >&2; exit 1; }
# Thousands of calls and their sockets: sipp and the server need file descriptors.
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

PERF_PID=""
perf_start() { # name: records the server until perf_stop
  [ "$PERF" -eq 1 ] || return 0
  perf record -F 499 -g -p "$APP_PID" -o "$OUT/perf-$1.data" >/dev/null 2>&1 &
  PERF_PID=$!
}
perf_stop() {
  [ -n "$PERF_PID" ] || return 0
  kill -INT "$PERF_PID" 2>/dev/null || true
  wait "$PERF_PID" 2>/dev/null || true
  PERF_PID=""
}

cleanup() {
  perf_stop
  stop_sipps
  stop_server
  [ "$OUT" = "$WORK/results" ] || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { # a port free for both TCP and UDP on 127.0.0.1 (SIP listens on both)
  local p
  for _ in $(seq 1 200); do
    p=$((40000 + RANDOM % 20000))
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
  echo "building $TREE/src/Lineup.Server and bench/sip/Lineup.SipPhones (Release)..."
  (cd "$TREE" && dotnet build src/Lineup.Server -c Release -warnaserror) >"$OUT/build.log" 2>&1 || { tail -n 20 "$OUT/build.log"; exit 1; }
  dotnet build bench/sip/Lineup.SipPhones -c Release -warnaserror >>"$OUT/build.log" 2>&1 || { tail -n 20 "$OUT/build.log"; exit 1; }
fi
PHONES="$ROOT/bench/sip/Lineup.SipPhones/bin/Release/net10.0/Lineup.SipPhones.dll"
[ -r "$PHONES" ] || { echo "$PHONES is missing: run without --no-build once" >&2; exit 1; }

# --- server ------------------------------------------------------------------------------------------------------
PASSWORD="bench-$RANDOM-$RANDOM-$RANDOM"
SIP_PASSWORD="sip-$RANDOM-$RANDOM"
PORT=$(free_port)
SIP_PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
[ "$PERF" -eq 1 ] && export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0
(cd "$TREE" && LINEUP_ADMIN_PASSWORD="$PASSWORD" exec dotnet "src/Lineup.Server/bin/Release/net10.0/Lineup.Server.dll" \
  --urls "$BASE" --data-dir "$WORK/data" \
  --Sip:Enabled=true --Sip:Listen="127.0.0.1:$SIP_PORT" --Sip:PublicAddress=127.0.0.1 \
  --Sip:RtpPortMin="${RTP_PORTS%-*}" --Sip:RtpPortMax="${RTP_PORTS#*-}" ${SERVER_ARGS[@]+"${SERVER_ARGS[@]}"} >"$OUT/server.log" 2>&1) &
SERVER_PID=$!
for _ in $(seq 1 240); do
  curl -sf "$BASE/readyz" >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "server exited:" >&2; tail -n 20 "$OUT/server.log" >&2; exit 1; }
  sleep 0.5
done
curl -sf "$BASE/readyz" >/dev/null || { echo "server did not become ready" >&2; exit 1; }
# The process doing the work (the subshell exec'd into dotnet, so it is SERVER_PID itself).
APP_PID=$( (ps -o pid= --ppid "$SERVER_PID" || true) | head -n 1 | tr -d " ")
[ -n "$APP_PID" ] || APP_PID=$SERVER_PID
COMMIT=$(cd "$TREE" && git rev-parse --short HEAD 2>/dev/null || echo "$TREE")
echo "server ready ($TREE, $COMMIT): http $BASE, sip 127.0.0.1:$SIP_PORT, pid $APP_PID"

TOKEN=$(curl -sS -f -X POST "$BASE/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$PASSWORD\",\"tenant\":\"default\"}" | jq -r .access_token)
api() { api_at "$BASE" "$TOKEN" "$@" || { echo "API $1 $2 failed" >&2; return 1; }; } # method path [json]

CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { # utime + stime of the server (fields 14 and 15 of /proc/PID/stat; comm may hold spaces)
  sed -E 's/^.*\) //' "/proc/$APP_PID/stat" | awk '{ print $12 + $13 }'
}
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; } # user nice system irq softirq, all cores
rss_mb() { awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$APP_PID/status"; }
load() { cut -d' ' -f1 /proc/loadavg; }
# Where the RSS is (saved to FILE): anonymous memory (GC heap, native allocations, stacks), JIT-compiled code
# (/memfd:doublemapper, counted once per view), mapped assemblies (.dll) and native libraries (.so), in MB.
rss_parts() {
  cp "/proc/$APP_PID/smaps" "$1" 2>/dev/null || return 0
  awk '/^[0-9a-f]+-[0-9a-f]+ / { name = $6; kind = name == "" || name ~ /^\[/ ? "anon" : name ~ /doublemapper/ ? "jit" : name ~ /\.dll$/ ? "dll" : name ~ /\.so/ ? "so" : "other" }
       /^Rss:/ { mb[kind] += $2 / 1024 }
       END { printf "anon %.0f, jit %.0f, dll %.0f, so %.0f, other %.0f MB", mb["anon"], mb["jit"], mb["dll"], mb["so"], mb["other"] }' "$1"
}
now_ms() { date +%s%3N; }
pct() { awk -v d="$1" -v hz="$CLK_TCK" -v ms="$2" 'BEGIN { printf "%.1f", 100 * d / hz / (ms / 1000) }'; } # ticks ms

# CPU ticks of each server thread, "name ticks" per line (threads of one name summed).
thread_ticks() {
  local t
  for t in /proc/"$APP_PID"/task/*; do
    { read -r line <"$t/stat"; } 2>/dev/null || continue
    local name=${line#*(}; name=${name%)*}
    echo "${name// /_} $(sed -E 's/^.*\) //' <<<"$line" | awk '{ print $12 + $13 }')"
  done | awk '{ s[$1] += $2 } END { for (n in s) print n, s[n] }'
}

# Quantile Q of a histogram (default lineup_rtp_send_interval_seconds) between two /metrics snapshots, in ms ("n/a"
# when the metric is absent or saw nothing). Linear inside the bucket, as Prometheus' histogram_quantile does.
interval_quantile() { # before after q [metric]
  awk -v q="$3" -v metric="${4:-lineup_rtp_send_interval_seconds}" '
    FNR == 1 { file++ }
    index($0, metric "_bucket{") == 1 {
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

# Sum of the samples of a /metrics counter (all label sets) in the after snapshot minus the before snapshot.
counter_delta() { # before after name [label-filter]
  awk -v name="$3" -v filter="${4:-}" '
    FNR == 1 { file++ }
    ($1 == name || index($1, name "{") == 1) && index($1, filter) > 0 { v[file] += $NF }
    END { d = v[2] - v[1]; if (d == int(d)) printf "%d\n", d; else printf "%.4g\n", d }' "$1" "$2"
}

# Scheduling policy of the server's media threads ("Lineup media N"), e.g. "SCHED_RR/10 SCHED_RR/10".
media_policies() {
  local t
  for t in /proc/"$APP_PID"/task/*; do
    [[ "$(cat "$t/comm" 2>/dev/null)" == "Lineup media"* ]] || continue
    sed -E 's/^.*\) //' "$t/stat" | awk '{ p = $39; printf "%s/%s ", (p == 2 ? "SCHED_RR" : p == 1 ? "SCHED_FIFO" : "SCHED_OTHER"), $38 }'
  done
  echo
}

# Datagrams the kernel dropped at the server's SIP UDP socket (receive buffer full): the drops column of
# /proc/net/udp for 127.0.0.1:SIP_PORT (a counter for the socket's life).
sip_socket_drops() {
  awk -v port="$(printf ':%04X' "$SIP_PORT")" '$2 ~ port "$" { d += $NF } END { print d + 0 }' /proc/net/udp
}

# Column NAME of the last line of a sipp -trace_stat file (semicolon-separated, header first).
stat_col() { # file name
  awk -F';' -v name="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next } { last = $c } END { print last }' "$1"
}
# sipp writes times as HH:MM:SS:mmmmmm; in ms.
hms_ms() { awk -F: '{ printf "%.1f", (($1 * 60 + $2) * 60 + $3) * 1000 + $4 / 1000 }' <<<"$1"; }
# p99 of the response times (ms, second column) in sipp -trace_rtt files.
rtt_p99() { cat "$@" 2>/dev/null | awk -F';' '$2 ~ /^[0-9.]+$/ { print $2 }' | sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else { i = int(NR * 0.99); if (i < 1) i = 1; printf "%.1f", v[i] } }'; }

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
QUEUE=""
FIRST_NUMBER=30001
# Each sipp process binds its -mp port and the ones after it (RTCP, video): a block of 10 ports each.
NEXT_MEDIA=$(( (RANDOM % 40) * 100 + 60100 )) # above the server's RTP ports (20000-39999) and free_port's (40000-59999)
next_media() { MP=$NEXT_MEDIA; NEXT_MEDIA=$((NEXT_MEDIA + 10)); }

# --- agents: created, logged in, phones registered at --uas answering sipp processes --------------------------------
setup_agents() {
  [ -z "$QUEUE" ] || return 0
  QUEUE=$(api POST /queues '{"name":"sip-bench-setup","extension":"801","strategy":"longest_idle","wrap_up_time":0,"ring_timeout":30,"max_wait":0,"max_wait_no_agent":0,"leave_when_no_agents":false}' | jq -r .id)
  local play=0 k contacts=""
  [ "$AGENT_AUDIO" -eq 1 ] && play=1
  for k in $(seq 1 "$UAS"); do
    local port
    port=$(free_port)
    next_media
    # Each process answers for every agent whose contact names its port (no -m: it answers until stopped).
    start_sipp "agents-$k" agent-answer.xml -p "$port" -mp "$MP" -key rtp_port "$MP" -key report_media 0 \
      -key ring_ms "$RING_MS" -key play "$play" -max_socket 60000
    contacts="$contacts${contacts:+,}$port"
  done
  echo "agents: creating $AGENTS agents and registering their phones at $UAS sipp UAS processes..."
  dotnet "$PHONES" provision --api "$BASE" --token "$TOKEN" --queue "$QUEUE" --agents "$AGENTS" --first "$FIRST_NUMBER" \
    --password "$SIP_PASSWORD"
  dotnet "$PHONES" register --sip "127.0.0.1:$SIP_PORT" --first "$FIRST_NUMBER" --count "$AGENTS" --password "$SIP_PASSWORD" \
    --contacts "$contacts" --expires 3600
}

# --- idle: registered phones, no calls --------------------------------------------------------------------------------
run_idle() {
  local run=$1 before after t0 t1 cpu threads_before threads_after
  setup_agents
  sleep 10 # registration and JIT settle
  perf_start "idle-$run"
  threads_before=$(thread_ticks); before=$(cpu_ticks); t0=$(now_ms)
  sleep "$IDLE_SECONDS"
  after=$(cpu_ticks); t1=$(now_ms); threads_after=$(thread_ticks)
  perf_stop
  cpu=$(pct $((after - before)) $((t1 - t0)))
  IDLE_CPU=$cpu
  # Threads that used CPU in the window, busiest first.
  local busiest
  busiest=$(join <(sort <<<"$threads_before") <(sort <<<"$threads_after") \
    | awk -v hz="$CLK_TCK" -v s="$IDLE_SECONDS" '$3 > $2 { printf "%s %.1f%%\n", $1, 100 * ($3 - $2) / hz / s }' \
    | sort -k2 -t' ' -rn | head -n 5 | paste -sd ',' | sed 's/,/, /g')
  ROWS+=("| idle #$run | $AGENTS phones registered, no call, ${IDLE_SECONDS}s | | | | | | | $cpu% | $(rss_mb) MB | threads: ${busiest:-none} | | | $(load) |")
  echo "idle #$run: $cpu% of a core (${busiest:-no thread used CPU}); RSS $(rss_mb) MB ($(rss_parts "$OUT/idle-$run-smaps.txt"))"
}

# --- hold: callers waiting with music ----------------------------------------------------------------------------------
HOLD_QUEUE=""
run_hold() {
  local run=$1 size waiting t0 t1 before after cpu per_call p50 p99 late99 gcs gc_pause sent callers_pid ramp_limit hold_ms still name
  if [ -z "$HOLD_QUEUE" ]; then
    HOLD_QUEUE=$(api POST /queues '{"name":"sip-bench-hold","extension":"802","strategy":"longest_idle","max_wait":0,"max_wait_no_agent":0,"leave_when_no_agents":false}' | jq -r .id)
  fi
  for size in $HOLD; do
    [ -n "${IDLE_CPU:-}" ] || { before=$(cpu_ticks); t0=$(now_ms); sleep 5; IDLE_CPU=$(pct $(($(cpu_ticks) - before)) $(($(now_ms) - t0))); }
    ramp_limit=$(( size / HOLD_RAMP + 60 ))
    # Each caller stays for the ramp, the measurement and a margin, then hangs up (caller.xml's talk_ms).
    hold_ms=$(( (size / HOLD_RAMP + 15 + MEASURE + 10) * 1000 ))
    name="holders-$size-$run"
    next_media
    start_sipp "$name" caller.xml -p "$(free_port)" -mp "$MP" -s 802 -key rtp_port "$MP" \
      -key talk_ms "$hold_ms" -key play 0 -r "$HOLD_RAMP" -m "$size" -l "$size" -max_socket 60000 \
      -timeout "$(( hold_ms / 1000 + 120 ))s" -trace_stat -stf "$OUT/$name.csv" -fd 1 "127.0.0.1:$SIP_PORT"
    callers_pid=$LAST_PID
    echo "hold #$run: ramping to $size callers at $HOLD_RAMP/s..."
    for _ in $(seq 1 "$ramp_limit"); do
      waiting=$(api GET "/queues/$HOLD_QUEUE/status" | jq -r .waiting)
      [ "$waiting" -ge "$size" ] && break
      sleep 1
    done
    waiting=$(api GET "/queues/$HOLD_QUEUE/status" | jq -r .waiting)
    [ "$waiting" -ge "$size" ] || echo "hold: WARNING only $waiting of $size callers are waiting (see $OUT/$name.out)" >&2
    sleep 2
    curl -sf "$BASE/metrics" >"$OUT/$name-metrics-before.txt" || : >"$OUT/$name-metrics-before.txt"
    perf_start "$name"
    before=$(cpu_ticks); t0=$(now_ms)
    sleep "$MEASURE"
    after=$(cpu_ticks); t1=$(now_ms)
    perf_stop
    curl -sf "$BASE/metrics" >"$OUT/$name-metrics-after.txt" || : >"$OUT/$name-metrics-after.txt"
    still=$(api GET "/queues/$HOLD_QUEUE/status" | jq -r .waiting)
    cpu=$(pct $((after - before)) $((t1 - t0)))
    per_call=$(awk -v c="$cpu" -v i="$IDLE_CPU" -v n="$waiting" 'BEGIN { if (n > 0) printf "%.4f%%", (c - i) / n; else print "n/a" }')
    p50=$(interval_quantile "$OUT/$name-metrics-before.txt" "$OUT/$name-metrics-after.txt" 0.50)
    p99=$(interval_quantile "$OUT/$name-metrics-before.txt" "$OUT/$name-metrics-after.txt" 0.99)
    late99=$(interval_quantile "$OUT/$name-metrics-before.txt" "$OUT/$name-metrics-after.txt" 0.99 lineup_rtp_tick_lateness_seconds)
    gcs=$(counter_delta "$OUT/$name-metrics-before.txt" "$OUT/$name-metrics-after.txt" dotnet_gc_collections_total)
    gc_pause=$(counter_delta "$OUT/$name-metrics-before.txt" "$OUT/$name-metrics-after.txt" dotnet_gc_pause_time_seconds_total)
    sent=$(counter_delta "$OUT/$name-metrics-before.txt" "$OUT/$name-metrics-after.txt" lineup_rtp_packets_sent_total)
    rtcp=$(counter_delta "$OUT/$name-metrics-before.txt" "$OUT/$name-metrics-after.txt" lineup_rtcp_packets_sent_total)
    ROWS+=("| hold #$run | $size callers (ramp $HOLD_RAMP/s), ${MEASURE}s | $size | $waiting waiting, $still at end | | | | | $cpu% (idle $IDLE_CPU%) | $(rss_mb) MB | per caller $per_call | $p50 | $p99 | $(load) |")
    echo "hold #$run: $size callers, $cpu% CPU, per caller $per_call, RSS $(rss_mb) MB ($(rss_parts "$OUT/$name-smaps.txt")), interval p50 $p50 p99 $p99 ms"
    echo "hold #$run: music packets sent $(awk -v n="$sent" -v s="$MEASURE" 'BEGIN { printf "%.0f", n / s }')/s (every caller paced: $((size * 50))/s; fewer means ticks were skipped, and less CPU spent); RTCP reports sent $(awk -v n="$rtcp" -v s="$MEASURE" 'BEGIN { printf "%.0f", n / s }')/s; tick lateness p99 $late99 ms; GC over the window: $gcs collections, ${gc_pause}s paused; media threads: $(media_policies)"
    # The callers hang up by themselves; wait for them, and for the queue to empty, before anything else.
    wait "$callers_pid" || true
    for _ in $(seq 1 120); do
      [ "$(api GET "/queues/$HOLD_QUEUE/status" | jq -r .waiting)" -eq 0 ] && break
      sleep 1
    done
  done
}

# Memory once the calls are gone: RSS after --settle seconds, then the live managed heap (a gcdump collects fully).
settle() { # label
  local rss dump live gcdump
  echo "$1: RSS $(rss_mb) MB at the end; settling ${SETTLE}s with no call..."
  sleep "$SETTLE"
  rss=$(rss_mb)
  gcdump=$(command -v dotnet-gcdump || { [ -x "$HOME/.dotnet/tools/dotnet-gcdump" ] && echo "$HOME/.dotnet/tools/dotnet-gcdump"; } || true)
  live="not measured (dotnet-gcdump missing)"
  if [ -n "$gcdump" ]; then
    dump="$OUT/settled-$RANDOM.gcdump"
    "$gcdump" collect -p "$APP_PID" -o "$dump" >/dev/null 2>&1 \
      && live="$("$gcdump" report "$dump" 2>/dev/null | awk '$2 == "GC" && $3 == "Heap" && $4 == "bytes" { gsub(",", "", $1); printf "%.0f MB", $1 / 1048576; exit }')"
  fi
  echo "$1: after ${SETTLE}s with no call: RSS $rss MB, then $(rss_mb) MB after the dump's full collection; live managed heap $live"
}

# --- setup: call setups per second through the agents' queue -----------------------------------------------------------
run_setup() {
  local run=$1 rate calls limit stats before after m0 m1 t0 t1 ok failed created setup_ms p99 cpu machine per_call answered abandoned a0 b0 name d0 drops retrans timeouts
  setup_agents
  for rate in $RATES; do
    calls=$((rate * DURATION))
    limit=$((rate * (CALL_MS / 1000 + 3) * 2))
    name="callers-$rate-$run"
    stats="$OUT/$name.csv"
    a0=$(api GET "/queues/$QUEUE/stats" | jq -r '.stats.answered'); b0=$(api GET "/queues/$QUEUE/stats" | jq -r '.stats.abandoned')
    next_media
    curl -sf "$BASE/metrics" >"$OUT/$name-metrics-before.txt" || : >"$OUT/$name-metrics-before.txt"
    before=$(cpu_ticks); m0=$(machine_ticks); t0=$(now_ms); d0=$(sip_socket_drops)
    start_sipp "$name" caller.xml -p "$(free_port)" -mp "$MP" -s 801 -key rtp_port "$MP" \
      -key talk_ms "$CALL_MS" -key play 0 -r "$rate" -m "$calls" -l "$limit" -max_socket 60000 \
      -timeout "$((DURATION + 120))s" -timeout_error -trace_stat -stf "$stats" -fd 1 -trace_rtt -rtt_freq 100 \
      "127.0.0.1:$SIP_PORT"
    perf_start "$name"
    wait "$LAST_PID" || true
    t1=$(now_ms); after=$(cpu_ticks); m1=$(machine_ticks)
    perf_stop
    sleep 2 # the last calls' CDRs
    drops=$(( $(sip_socket_drops) - d0 ))
    curl -sf "$BASE/metrics" >"$OUT/$name-metrics-after.txt" || : >"$OUT/$name-metrics-after.txt"
    shed=$(counter_delta "$OUT/$name-metrics-before.txt" "$OUT/$name-metrics-after.txt" lineup_sip_invites_shed_total)
    ok=$(stat_col "$stats" 'SuccessfulCall(C)'); failed=$(stat_col "$stats" 'FailedCall(C)')
    retrans=$(stat_col "$stats" 'Retransmissions(C)'); timeouts=$(stat_col "$stats" 'FailedMaxUDPRetrans(C)')
    created=$(stat_col "$stats" 'OutgoingCall(C)')
    setup_ms=$(hms_ms "$(stat_col "$stats" 'ResponseTimesetup(C)')")
    p99=$(rtt_p99 "$WORK/$name"/*_rtt.csv)
    cpu=$(pct $((after - before)) $((t1 - t0)))
    machine=$(pct $((m1 - m0)) $((t1 - t0)))
    per_call=$(awk -v d="$((after - before))" -v hz="$CLK_TCK" -v n="$ok" 'BEGIN { if (n > 0) printf "%.2f ms", 1000 * d / hz / n; else print "n/a" }')
    answered=$(( $(api GET "/queues/$QUEUE/stats" | jq -r '.stats.answered') - a0 ))
    abandoned=$(( $(api GET "/queues/$QUEUE/stats" | jq -r '.stats.abandoned') - b0 ))
    ROWS+=("| setup #$run | $rate/s x ${DURATION}s, ${CALL_MS} ms calls | $created | $ok | $failed | $(awk -v s="$ok" -v d="$DURATION" 'BEGIN { printf "%.1f", s / d }')/s | $setup_ms / $p99 ms | answered $answered, abandoned $abandoned | $cpu% (machine $machine%) | $(rss_mb) MB | per call $per_call; refused 503 $shed, retransmission timeouts $timeouts | | | $(load) |")
    echo "setup #$run: rate $rate: $ok ok, $failed failed, INVITE->200 mean $setup_ms p99 $p99 ms, server $cpu%, machine $machine%, per call $per_call"
    echo "setup #$run: rate $rate: sipp retransmissions $retrans, calls failed on retransmission timeout $timeouts, datagrams dropped at the server's SIP socket $drops, new INVITEs refused with 503 by overload control $shed (lineup_sip_invites_shed_total)"
    if [ "$SETTLE" -gt 0 ]; then settle "setup #$run: rate $rate"; fi
  done
}

for run in $(seq 1 "$RUNS"); do
  for what in $ONLY; do
    case "$what" in
      idle) run_idle "$run" ;;
      hold) run_hold "$run" ;;
      setup) run_setup "$run" ;;
      *) echo "--only takes idle, hold and/or setup" >&2; exit 2 ;;
    esac
  done
done

echo
echo "SIP benchmarks, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), server $COMMIT ($TREE); agents $AGENTS at $UAS sipp UAS, ring $RING_MS ms"
echo
echo "| test | load | calls | successful | failed | achieved | INVITE->200 mean / p99 | queue | server CPU | RSS | notes | music interval p50 (ms) | p99 (ms) | load avg |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for row in "${ROWS[@]}"; do echo "$row"; done
echo
echo "raw sipp statistics, logs and the server log: $OUT"
