#!/usr/bin/env bash
# What SIP over TLS and SRTP cost (issue 16), measured in one process on 127.0.0.1 by bench/sip/Lineup.SipBench:
#   - call setups per second (INVITE, 200, ACK, BYE, 200) between two Lineup SIP stacks over UDP, TCP and TLS
#     (one TLS connection reused by every call, as a registered phone or a trunk does), 50 calls in flight;
#   - new TLS connections per second (full handshake, ECDSA P-256 certificate) against the TLS transport;
#   - CPU per media stream, RTP vs SRTP: pairs of legs of one MediaEngine calling each other, each playing hold music
#     (50 packets/s sent and 50 received per leg; with SRTP each is protected and authenticated+decrypted).
# Phases alternate inside each round, so machine load moves both sides of each ratio alike; medians over the rounds.
# Targets: TLS setups >= 50 % of UDP's rate, SRTP <= 1.5x the CPU of RTP per stream.
#
#   bench/sip/security.sh [--seconds 10] [--rounds 3] [--concurrency 50] [--streams 200]
set -euo pipefail
cd "$(dirname "$0")/../.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build bench/sip/Lineup.SipBench -c Release -warnaserror --nologo -v quiet >/dev/null
exec dotnet bench/sip/Lineup.SipBench/bin/Release/net10.0/Lineup.SipBench.dll "$@"
