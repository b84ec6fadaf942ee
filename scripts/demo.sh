#!/usr/bin/env bash
# The demo: a short stereo call, one flite voice per channel, transcribed by the embedded
# default after the local user consents. The call is made in a temporary directory and
# removed afterwards; callscribe itself never writes audio to disk.
set -euo pipefail
bin=${1:-bin/callscribe}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

say() { flite -voice "$1" -t "$2" -o "$work/$3.wav"; }
say slt "good morning thank you for calling how can i help you today" a1
say rms "my internet connection is very slow since last night" c1
say slt "i am sorry to hear that let me check your account" a2
say rms "yes of course the number is four five seven two one nine" c2
say slt "a technician will visit the cabinet tomorrow morning between nine and twelve" a3
say rms "great thank you very much goodbye" c3

# Each channel hears its speaker and faint line noise while the other one talks; -R makes
# sox seed that noise the same way every run, so every demo hears the same call.
agent=() client=()
for t in 1 2 3; do
  sox "$work/a$t.wav" "$work/a$t-p.wav" pad 0 0.4
  sox "$work/c$t.wav" "$work/c$t-p.wav" pad 0 0.4
  sox -R -n -r 16000 -b 16 -c 1 "$work/sa$t.wav" synth "$(soxi -D "$work/a$t-p.wav")" whitenoise vol 0.002
  sox -R -n -r 16000 -b 16 -c 1 "$work/sc$t.wav" synth "$(soxi -D "$work/c$t-p.wav")" whitenoise vol 0.002
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

# Two more calls, so that the web app's list, search and chart have something to show.
call() { # call NAME "agent line" "client line" ["agent line" "client line"]...
  local name=$1 t=0 agent=() client=(); shift
  while [ $# -ge 2 ]; do
    t=$((t + 1))
    flite -voice slt -t "$1" -o "$work/$name-a$t.wav"; flite -voice rms -t "$2" -o "$work/$name-c$t.wav"
    sox "$work/$name-a$t.wav" "$work/$name-a$t-p.wav" pad 0 0.4
    sox "$work/$name-c$t.wav" "$work/$name-c$t-p.wav" pad 0 0.4
    sox -R -n -r 16000 -b 16 -c 1 "$work/$name-sa$t.wav" synth "$(soxi -D "$work/$name-a$t-p.wav")" whitenoise vol 0.002
    sox -R -n -r 16000 -b 16 -c 1 "$work/$name-sc$t.wav" synth "$(soxi -D "$work/$name-c$t-p.wav")" whitenoise vol 0.002
    agent+=("$work/$name-a$t-p.wav" "$work/$name-sc$t.wav")
    client+=("$work/$name-sa$t.wav" "$work/$name-c$t-p.wav")
    shift 2
  done
  sox "${agent[@]}" "$work/$name-agent.wav"
  sox "${client[@]}" "$work/$name-client.wav"
  sox -M "$work/$name-agent.wav" "$work/$name-client.wav" "$work/$name.wav"
}
call tariff "hello you are speaking with the billing department" "i would like to change my tariff plan please" \
  "of course the new plan starts on the first day of next month" "thank you that is all"
call delivery "good afternoon how can i help" "my parcel has not arrived yet" \
  "the courier will bring it tomorrow before noon" "great thank you goodbye"
for c in tariff delivery; do
  "$bin" transcribe "$work/$c.wav" >"$work/$c.txt"
  echo
  head -3 "$work/$c.txt" # the heading and the first two turns
done

# The web app: the demo user gets a password of its own (random, on standard input), and
# the call above is theirs to read in a browser.
password=$(head -c 12 /dev/urandom | base64 | tr -d '/+=' | head -c 16)
echo
printf '%s\n' "$password" | "$bin" users password --verified local@localhost
url=$("$bin" config | sed -n 's/^CALLSCRIBE_PUBLIC_URL=\([^[:space:]]*\).*/\1/p')
echo
echo "The web app: run  $bin serve  and open ${url:-http://127.0.0.1:8080}/signin"
echo "  demo account: local@localhost"
echo "  password:     $password"
