#!/usr/bin/env bash
# Coverage-guided fuzzing of Lineup.Sip's parsers: SharpFuzz 2.3.0 instruments Lineup.Sip.dll, Debian's afl++
# drives the targets of bench/fuzz/Lineup.Fuzz (FuzzTargets.cs).
#
#   bench/fuzz/run.sh TARGET [MINUTES] [OUT_DIR]      TARGET: sip | sdp | digest | rtp   (default 30 minutes)
#
# Seeds come from tests/Lineup.Sip.Tests/Fuzz/<target>/ (the committed corpus); afl++'s findings go to OUT_DIR
# (default /tmp/lineup-fuzz/<target>). After a run, `bench/fuzz/run.sh --minimize TARGET [OUT_DIR]` copies the
# queue, minimised with afl-cmin, and every crash back into the committed corpus, which FuzzCorpusTests replays
# in every .ci/run. The campaign itself is not part of CI. On a shared machine run it under `nice -n 19`.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

minimize=0
if [ "${1:-}" = "--minimize" ]; then minimize=1; shift; fi
target=${1:?usage: bench/fuzz/run.sh [--minimize] sip|sdp|digest|rtp [MINUTES] [OUT_DIR]}
case "$target" in sip|sdp|digest|rtp) ;; *) echo "unknown target $target" >&2; exit 2 ;; esac
if [ "$minimize" = 1 ]; then out=${2:-/tmp/lineup-fuzz/$target}; else minutes=${2:-30}; out=${3:-/tmp/lineup-fuzz/$target}; fi
seeds=$root/tests/Lineup.Sip.Tests/Fuzz/$target
build=/tmp/lineup-fuzz/build-$target

command -v afl-fuzz >/dev/null 2>&1 || { echo "afl-fuzz is missing: apt-get install -y afl++" >&2; exit 1; }
tools=/tmp/lineup-fuzz/tools
if [ ! -x "$tools/sharpfuzz" ]; then
  dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path "$tools" >/dev/null
fi

if [ ! -f "$build/Lineup.Fuzz.dll" ] || [ "$minimize" = 0 ]; then
  rm -rf "$build"
  dotnet publish bench/fuzz/Lineup.Fuzz -c Release -o "$build" --nologo -v quiet >/dev/null
  # Instrument only the code under test (not the harness, not the framework).
  "$tools/sharpfuzz" "$build/Lineup.Sip.dll" >/dev/null
fi

export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
  AFL_SKIP_CPUFREQ=1 AFL_FORKSRV_INIT_TMOUT=60000 AFL_ALLOW_TMP=1 DOTNET_TieredPGO=0

if [ "$minimize" = 1 ]; then
  queue=$(ls -d "$out"/default/queue)
  tmp=$(mktemp -d)
  afl-cmin -i "$queue" -o "$tmp" -t 10000 -m none -- "$(command -v dotnet)" "$build/Lineup.Fuzz.dll" "$target" >/dev/null
  mkdir -p "$seeds"
  for f in "$tmp"/*; do
    # Named by content: an input already in the corpus (afl-cmin may hard-link it) is skipped.
    dest="$seeds/q-$(sha1sum "$f" | cut -c1-12)"
    [ -e "$dest" ] || cp "$f" "$dest"
  done
  for f in "$out"/default/crashes/id:* "$out"/default/hangs/id:*; do
    [ -e "$f" ] || continue
    dest="$seeds/crash-$(sha1sum "$f" | cut -c1-12)"
    [ -e "$dest" ] || cp "$f" "$dest"
  done
  rm -rf "$tmp"
  echo "corpus: $(ls "$seeds" | wc -l) files in ${seeds#"$root"/}"
  exit 0
fi

mkdir -p "$out"
echo "fuzzing $target for $minutes min; findings in $out"
afl-fuzz -i "$seeds" -o "$out" -t 10000 -m none -V $((minutes * 60)) -- dotnet "$build/Lineup.Fuzz.dll" "$target" \
  >"$out/afl.log" 2>&1 || { tail -n 30 "$out/afl.log" >&2; exit 1; }
# afl++'s own summary of the campaign: executions, paths (corpus_count), crashes and hangs found.
grep -E '^(execs_done|execs_per_sec|corpus_count|saved_crashes|saved_hangs|run_time|bitmap_cvg|edges_found)' "$out/default/fuzzer_stats"
