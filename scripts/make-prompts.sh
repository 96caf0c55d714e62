#!/usr/bin/env bash
# Generates the default voice prompts (8 kHz, mono, 16-bit PCM WAV) into assets/prompts/ with espeak-ng and sox.
# The file name (without .wav) is the prompt id that PromptLibrary and the queue configuration use.
# Usage: scripts/make-prompts.sh [output-dir] [espeak-voice]
set -euo pipefail

out="${1:-$(dirname "$0")/../assets/prompts}"
voice="${2:-en-us}"
command -v espeak-ng >/dev/null || { echo "espeak-ng is required" >&2; exit 1; }
command -v sox >/dev/null || { echo "sox is required" >&2; exit 1; }
mkdir -p "$out"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

say() { # say <id> <text>
  espeak-ng -v "$voice" -s 150 -w "$tmp/raw.wav" "$2"
  # Resample to 8 kHz mono 16-bit, normalise to -3 dBFS, trim leading/trailing silence, keep 50 ms of air.
  sox "$tmp/raw.wav" -r 8000 -c 1 -b 16 -e signed-integer "$out/$1.wav" \
    silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse norm -3 pad 0.05 0.05
}

for n in $(seq 0 20) 30 40 50 60 70 80 90 100; do say "$n" "$n"; done
say hundred "hundred"
say your-position-is "Your position in the queue is"
say estimated-wait "Your estimated waiting time is"
say minutes "minutes"
say minute "minute"
say seconds "seconds"
say second "second"
say less-than-a-minute "less than a minute"
say thank-you-for-waiting "Thank you for waiting. Your call is important to us. Please stay on the line."
say welcome "Welcome. All calls are answered in the order they are received."
say press-to-leave "To leave a voice message, press 1."
say callback-offer "To be called back instead of waiting, press 3."
say callback-confirmed "Thank you. We will call you back as soon as an agent is available. Goodbye."
say all-agents-busy "All our agents are busy at the moment."
say survey-question "Please rate this call: press a key from 1, the lowest, to 5, the highest."
say survey-thanks "Thank you for your rating. Goodbye."
say voicemail-greeting "Please leave a message after the tone. Hang up when you are done."
say caller-waited "The caller waited"
echo "prompts written to $out"
