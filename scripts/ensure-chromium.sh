#!/usr/bin/env bash
# ensure-chromium.sh — what the picture and completion tests need: Debian's chromium (to render the
# SVGs to PNG, driven by playwright-core; no browser is downloaded), a font, and zsh. Idempotent.
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
command -v zsh >/dev/null 2>&1 || need+=(zsh)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "ensure-chromium: install ${need[*]} (Debian packages), then rerun" >&2
  exit 1
fi
echo "ensure-chromium: installing ${need[*]} from apt" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
