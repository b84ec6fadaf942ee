#!/usr/bin/env bash
# The demo: a short stereo call, one flite voice per channel, transcribed by the embedded
# default after the local user consents. The call is made in a temporary directory and
# removed afterwards; callscribe itself never writes audio to disk.
set -euo pipefail
bin=${1:-bin/callscribe}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

say() { flite -voice "$1" -t "$2" -o "$work/$3.wav"; }
say slt "hello thank you for calling the support line how can i help you" a1
say rms "hi my internet connection has been down since yesterday" c1
say slt "i am sorry to hear that let me check your account" a2
say rms "thank you the account number is four two seven" c2
say slt "i see a problem on the line a technician will visit you tomorrow morning" a3
say rms "great thank you very much goodbye" c3

# Each channel hears its speaker and silence while the other one talks.
agent=() client=()
for t in 1 2 3; do
  sox "$work/a$t.wav" "$work/a$t-p.wav" pad 0 0.4
  sox "$work/c$t.wav" "$work/c$t-p.wav" pad 0 0.4
  sox -n -r 16000 -b 16 -c 1 "$work/sa$t.wav" trim 0 "$(soxi -D "$work/a$t-p.wav")"
  sox -n -r 16000 -b 16 -c 1 "$work/sc$t.wav" trim 0 "$(soxi -D "$work/c$t-p.wav")"
  agent+=("$work/a$t-p.wav" "$work/sc$t.wav")
  client+=("$work/sa$t.wav" "$work/c$t-p.wav")
done
sox "${agent[@]}" "$work/agent.wav"
sox "${client[@]}" "$work/client.wav"
sox -M "$work/agent.wav" "$work/client.wav" "$work/demo-call.wav"
echo "demo call: $(soxi -D "$work/demo-call.wav") s, 2 channels (agent: slt voice, client: rms voice)"
echo

"$bin" consent grant --email local@localhost --purpose transcription,summarization
echo
"$bin" transcribe "$work/demo-call.wav"
