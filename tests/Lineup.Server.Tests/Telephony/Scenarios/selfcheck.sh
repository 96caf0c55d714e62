#!/usr/bin/env bash
# Proves our sipp scenarios are well-formed and agree with each other, without Lineup: each check runs a UAS
# scenario and a UAC scenario against each other on 127.0.0.1 (a scenario for one side, or a stand-in from
# standins/, plays Lineup's part) and requires both sipp processes to exit 0.
#   bash tests/Lineup.Server.Tests/Telephony/Scenarios/selfcheck.sh            # all checks
#   SELFCHECK_PORT=26000 bash .../selfcheck.sh caller dtmf                        # only checks whose name matches
# Needs sipp (Debian: sip-tester) and root or CAP_NET_RAW (pcap play uses a raw socket). Prints one line per
# check and "selfcheck: N passed, N failed"; exits 1 if any failed. Logs stay in the printed folder on failure.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
pcaps=${SIPP_PCAPS:-/usr/share/sip-tester}
base=${SELFCHECK_PORT:-25060}
only=("$@")

if ! command -v sipp >/dev/null 2>&1; then
  echo "selfcheck: sipp is missing (apt-get install -y sip-tester)" >&2
  exit 1
fi
for f in g711a.pcap dtmf_2833_5.pcap; do
  [ -r "$pcaps/$f" ] || { echo "selfcheck: $pcaps/$f is missing (Debian's sip-tester ships it)" >&2; exit 1; }
done

work=$(mktemp -d -t lineup-sipp-selfcheck.XXXXXX)
cd "$work" || exit 1
# Scenarios play ./agent.pcap, ./caller.pcap and ./dtmf.pcap from sipp's working directory.
ln -s "$pcaps/g711a.pcap" agent.pcap
ln -s "$pcaps/g711a.pcap" caller.pcap
ln -s "$pcaps/dtmf_2833_5.pcap" dtmf.pcap

common=(-i 127.0.0.1 -mi 127.0.0.1 -m 1 -timeout 30s -timeout_error -nostdin -trace_err)
passed=0
failed=0
n=0
uas_pid=""
cleanup() { if [ -n "$uas_pid" ]; then kill "$uas_pid" 2>/dev/null; fi; }
trap cleanup EXIT

selected() {
  [ ${#only[@]} -eq 0 ] && return 0
  local w
  for w in "${only[@]}"; do [[ "$1" == *"$w"* ]] && return 0; done
  return 1
}

# check NAME EXPECT_UAC_RC UAS_SCENARIO "UAS ARGS" UAC_SCENARIO "UAC ARGS"
# EXPECT_UAC_RC 0: both must exit 0; 1: the UAC must fail (negative checks; the UAS may end either way).
# The UAS listens on base+2n, the UAC on base+2n+1; media ports base+4000+8n (UAS) and +4 (UAC), clear of
# each other (sipp binds -mp and -mp+2).
check() {
  local name=$1 expect=$2 uas=$3 uas_args=$4 uac=$5 uac_args=$6
  selected "$name" || return 0
  n=$((n + 1))
  local sport=$((base + 2 * n)) cport=$((base + 2 * n + 1))
  local smp=$((base + 4000 + 8 * n)) cmp=$((base + 4000 + 8 * n + 4))
  mkdir -p "$name"
  # shellcheck disable=SC2086 # the argument strings are word lists on purpose
  # Agents and the outside number answer with their own media port ([rtp_port] = -mp) and write where the other
  # side's SDP asks for media (report_media 1): the check then requires that file.
  (cd "$name" && ln -sf ../agent.pcap ../caller.pcap ../dtmf.pcap . &&
    exec sipp -sf "$here/$uas" "${common[@]}" -p "$sport" -mp "$smp" -key rtp_port "$smp" -key report_media 1 $uas_args \
      >uas.out 2>&1) &
  uas_pid=$!
  sleep 0.3
  # shellcheck disable=SC2086
  (cd "$name" && exec sipp -sf "$here/$uac" "${common[@]}" -p "$cport" -mp "$cmp" -key rtp_port "$cmp" $uac_args \
    "127.0.0.1:$sport" >uac.out 2>&1)
  local uac_rc=$?
  wait "$uas_pid"
  local uas_rc=$?
  uas_pid=""
  local expect_uas=0
  [ "$expect" -ne 0 ] && expect_uas=any
  # An RTP echo error means a pcap left from port 0 (see caller.xml): sipp counts it, we fail on it too.
  local echo_errors
  echo_errors=$(cat "$name"/*_errors.log 2>/dev/null | grep -c "RTP echo" || true)
  local good=1
  if [ "$expect" -eq 0 ]; then [ "$uac_rc" -eq 0 ] || good=0; else [ "$uac_rc" -ne 0 ] || good=0; fi
  if [ "$expect_uas" != any ] && [ "$uas_rc" -ne 0 ]; then good=0; fi
  [ "$echo_errors" -eq 0 ] || good=0
  # A UAS that answered with SDP reported the caller's media address (its c= and m= lines).
  if [ "$expect" -eq 0 ] && grep -q "remote-media" "$here/$uas" && ! grep -qE '^127\.0\.0\.1:[0-9]+$' "$name/remote-media.txt" 2>/dev/null; then
    good=0
  fi
  if [ "$good" -eq 1 ]; then
    passed=$((passed + 1))
    printf 'ok    %-34s %s <-> %s\n' "$name" "$uas" "$uac"
  else
    failed=$((failed + 1))
    printf 'FAIL  %-34s %s (rc %s) <-> %s (rc %s, want %s); echo errors %s; logs in %s\n' \
      "$name" "$uas" "$uas_rc" "$uac" "$uac_rc" "$expect" "$echo_errors" "$work/$name"
  fi
}

printf 'SEQUENTIAL\n1001;secret-1001\n' > agent.csv
csv="-inf $work/agent.csv"

check register 0 standins/registrar.xml "$csv" \
  agent-register.xml "$csv -au 1001 -ap secret-1001 -key contact_port 15999 -key expires 3600 -default_behaviors all,-bye"
check register-wrong-password 1 standins/registrar.xml "$csv" \
  agent-register.xml "$csv -au 1001 -ap not-the-password -key contact_port 15999 -key expires 3600 -default_behaviors all,-bye"
check unregister 0 standins/registrar.xml "$csv" \
  agent-unregister.xml "$csv -au 1001 -ap secret-1001 -key contact_port 15999 -default_behaviors all,-bye"
check caller-hangs-up 0 agent-answer.xml "-rtp_echo -key ring_ms 300 -key play 1" \
  caller.xml "-s 700 -key talk_ms 3000 -key play 1"
check agent-hangs-up 0 agent-answer-hangup.xml "-rtp_echo -key ring_ms 300 -key talk_ms 2500 -key play 1" \
  caller-waits-for-bye.xml "-s 700 -key play 1"
check phone-code 0 agent-answer-hangup.xml "-rtp_echo -key ring_ms 0 -key talk_ms 1500 -key play 0" \
  phone-code.xml "-s 146 -key from_user 1001"
check caller-abandons 0 agent-answer.xml "-key ring_ms 0 -key play 0" \
  caller-abandons.xml "-s 700 -key wait_ms 1500 -key play 1"
check agent-busy-486 0 agent-reject.xml "-key ring_ms 200 -key reject_code 486" \
  standins/offer-rejected.xml ""
check agent-decline-603 0 agent-reject.xml "-key ring_ms 200 -key reject_code 603" \
  standins/offer-rejected.xml ""
check agent-no-answer-cancel 0 agent-noanswer.xml "" \
  standins/offer-cancel.xml "-key ring_ms 800"
check transfer-target 0 transfer-target.xml "-key target 5550123" \
  caller.xml "-s 5550123 -key talk_ms 1500 -key play 1"
check transfer-target-wrong-number 1 transfer-target.xml "-key target 5550123" \
  caller.xml "-s 5550999 -key talk_ms 500 -key play 0"
check caller-dtmf 0 agent-answer-hangup.xml "-key ring_ms 0 -key talk_ms 3000 -key play 0" \
  caller-dtmf.xml "-s 700 -key dtmf_after_ms 1000"

echo "selfcheck: $passed passed, $failed failed"
if [ "$failed" -eq 0 ]; then
  cd / && rm -rf "$work"
  exit 0
fi
exit 1
