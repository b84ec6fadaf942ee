#!/usr/bin/env bash
# make bench: our figures printed beside the reference tools', measured in the same run.
#  1. transcribe a 10-minute stereo 16 kHz call: wall time and peak memory of
#     `callscribe transcribe` against pocketsphinx_continuous run once per channel,
#     one after the other (the target: ≤ 0.6× the time, ≤ 2× one CLI process's memory);
#  2. the Go benchmarks (decode + resample against sox, recogniser against the CLI).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-bin/callscribe}
minutes=${BENCH_MINUTES:-10}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A one-minute dialogue, one flite voice per channel, repeated to the length wanted.
lines=(
  "slt|good morning thank you for calling the support line how can i help you today"
  "rms|hello my internet connection has been very slow since the storm last night"
  "slt|i am sorry to hear that can you tell me the account number please"
  "rms|yes of course the number is four five seven two one nine"
  "slt|thank you i can see a fault on your line in the street cabinet"
  "rms|how long will it take to repair the line"
  "slt|a technician will visit the cabinet tomorrow morning between nine and twelve"
  "rms|that is fine will i need to be at home for the visit"
  "slt|no the work is outside but please restart your router in the afternoon"
  "rms|all right i will do that thank you for your help"
  "slt|you are welcome is there anything else i can do for you"
  "rms|no that is all have a nice day goodbye"
)
agent=() client=() i=0
for l in "${lines[@]}"; do
  voice=${l%%|*} text=${l#*|}
  flite -voice "$voice" -t "$text" -o "$work/s$i.wav"
  sox "$work/s$i.wav" "$work/p$i.wav" pad 0 0.8
  sox -n -r 16000 -b 16 -c 1 "$work/z$i.wav" trim 0 "$(soxi -D "$work/p$i.wav")"
  if [ "$voice" = slt ]; then agent+=("$work/p$i.wav"); client+=("$work/z$i.wav")
  else agent+=("$work/z$i.wav"); client+=("$work/p$i.wav"); fi
  i=$((i + 1))
done
sox "${agent[@]}" "$work/agent1.wav"
sox "${client[@]}" "$work/client1.wav"
reps=$(python3 -c "import math; print(math.ceil($minutes*60/$(soxi -D "$work/agent1.wav")))")
a=() c=()
for _ in $(seq "$reps"); do a+=("$work/agent1.wav"); c+=("$work/client1.wav"); done
sox "${a[@]}" "$work/agent.wav" trim 0 "$((minutes * 60))"
sox "${c[@]}" "$work/client.wav" trim 0 "$((minutes * 60))"
sox -M "$work/agent.wav" "$work/client.wav" "$work/call.wav"
echo "call: $(soxi -D "$work/call.wav") s stereo 16 kHz, $(stat -c %s "$work/call.wav") bytes"

export CALLSCRIBE_DATA_DIR="$work/data"
"$bin" consent grant --email local@localhost --purpose transcription,summarization >/dev/null

measure() { # label, command...: prints seconds and peak KiB
  local out="$work/time.$RANDOM"
  /usr/bin/time -f "%e %M" -o "$out" "${@:2}" >/dev/null 2>"$work/stderr" || { cat "$work/stderr"; exit 1; }
  read -r secs kib <"$out"
  printf '%-48s %8.1f s %9d KiB\n' "$1" "$secs" "$kib"
  echo "$secs $kib" >"$work/last"
}

echo
echo "== transcribe, 10-minute stereo call"
measure "callscribe transcribe (both channels)" "$bin" transcribe "$work/call.wav"
read -r ours_s ours_kib <"$work/last"
measure "pocketsphinx_continuous, channel 0" pocketsphinx_continuous -infile "$work/agent.wav" -logfn /dev/null
read -r cli0_s cli0_kib <"$work/last"
measure "pocketsphinx_continuous, channel 1" pocketsphinx_continuous -infile "$work/client.wav" -logfn /dev/null
read -r cli1_s cli1_kib <"$work/last"
# What the machine's second core is worth: the two CLI runs at once.
measure "pocketsphinx_continuous, both channels at once" bash -c \
  "pocketsphinx_continuous -infile '$work/agent.wav' -logfn /dev/null >/dev/null & pocketsphinx_continuous -infile '$work/client.wav' -logfn /dev/null >/dev/null; wait"
read -r par_s _ <"$work/last"
python3 - "$ours_s" "$ours_kib" "$cli0_s" "$cli0_kib" "$cli1_s" "$cli1_kib" "$par_s" <<'PY'
import sys
ours, ours_kib, c0, k0, c1, k1, par = map(float, sys.argv[1:])
cli = c0 + c1
print(f"time:   callscribe {ours:.1f} s / CLI one channel after the other {cli:.1f} s = {ours/cli:.2f}x (target <= 0.60x)")
print(f"        (the two CLI runs at once take {par:.1f} s = {par/cli:.2f}x: what two cores give here)")
print(f"memory: callscribe {ours_kib/1024:.0f} MiB / one CLI process {max(k0,k1)/1024:.0f} MiB = {ours_kib/max(k0,k1):.2f}x (target <= 2x)")
PY

echo
echo "== Go benchmarks (each prints our figure beside the reference tool's)"
go test -run '^$' -bench . -benchtime 1x ./audio/ ./asr/sphinx/ 2>&1 | grep -E '^(Benchmark|ok|FAIL|---)' || true

echo
echo "== erasure of a user with 10,000 calls and 1,000,000 segments, beside a plain DELETE of the same rows"
# A throwaway server (short path: the unix socket's name must stay under 108 bytes).
erasedb=$(mktemp -d /tmp/cs-erasure-XXXXXX)
scripts/test-postgres.sh start "$erasedb"
erasure_status=0
go run ./scripts/erasurebench -url "$(cat "$erasedb/url")" || erasure_status=$?
scripts/test-postgres.sh stop "$erasedb"
rm -rf "$erasedb"
[ "$erasure_status" -eq 0 ] || exit "$erasure_status"
