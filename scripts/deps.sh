#!/usr/bin/env bash
# Installs what callscribe needs to build, run and test, and nothing that is already there.
# Debian 12 packages only; run as root (or with sudo available).
set -euo pipefail

packages=(
  gcc pkg-config                                # cgo
  libgsm1-dev                                   # GSM 6.10 decoding (audio, cgo)
  postgresql                                    # the embedded default's database
  libpocketsphinx-dev libsphinxbase-dev pocketsphinx-en-us  # offline speech recognition
  pocketsphinx                                  # pocketsphinx_continuous: the reference in tests and benchmarks
  flite sox libsox-fmt-mp3 lame                 # tests synthesise and convert their calls
  libmpg123-dev                                 # MP3 decoding (cgo)
  sctk                                          # sclite, word error rate in benchmarks
  acl                                           # setfacl: lets the postgres user reach a data dir under /root
  time                                          # /usr/bin/time: peak memory in benchmarks
  curl                                          # scripts/test-minio.sh: waits for MinIO to be ready
  python3                                       # scripts/bench.sh: sizes and ratios
  chromium-headless-shell fonts-dejavu-core     # the web app's page tests (headless Chromium, chromedp)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing: ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's postgresql package starts its own cluster on port 5432; callscribe never uses it.
