#!/usr/bin/env bash
# ensure-docker.sh — make sure a Docker engine answers on this machine, and that the local
# test image `faultline/testbox` exists. Idempotent; safe to run on every `make`.
#
#  * An engine already answering (DOCKER_HOST or /var/run/docker.sock): nothing is installed.
#  * Otherwise, as root on Debian: apt-get install docker.io iptables busybox-static (and
#    docker-compose, debootstrap for the controller image's tests, nftables for nft monitor), start
#    dockerd in the background (log: /var/log/faultline-dockerd.log), wait for the socket.
#  * The image is built from Debian's busybox-static with `docker import`: nothing is pulled.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

log() { printf 'ensure-docker: %s\n' "$*" >&2; }
engine_answers() { command -v docker >/dev/null 2>&1 && timeout 5 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

need_pkgs=()
command -v dockerd >/dev/null 2>&1 || need_pkgs+=(docker.io)
command -v iptables >/dev/null 2>&1 || need_pkgs+=(iptables)
command -v nsenter >/dev/null 2>&1 || need_pkgs+=(util-linux)
command -v tc >/dev/null 2>&1 || need_pkgs+=(iproute2)
# Benchmarks and their test watch rule changes from outside with `nft monitor` (bench/lib/kernel.ts).
command -v nft >/dev/null 2>&1 || need_pkgs+=(nftables)
# The controller image's tests: Compose brings it up, debootstrap builds it (scripts/build-image.sh).
command -v docker-compose >/dev/null 2>&1 || need_pkgs+=(docker-compose)
command -v debootstrap >/dev/null 2>&1 || need_pkgs+=(debootstrap)
[ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 || need_pkgs+=(busybox-static)
if ! engine_answers && [ ${#need_pkgs[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { log "no Docker engine answers and I am not root: install docker.io (${need_pkgs[*]}) and start dockerd, then rerun"; exit 1; }
  command -v apt-get >/dev/null || { log "no Docker engine answers and this is not a Debian-like system: install Docker and rerun"; exit 1; }
  log "installing ${need_pkgs[*]} from apt"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
elif [ ${#need_pkgs[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  # the engine answers but host tools the tests use (busybox for the image, nsenter, tc) are missing
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

if ! engine_answers; then
  [ "$(id -u)" = 0 ] || { log "dockerd is installed but not running, and I am not root to start it"; exit 1; }
  log "starting dockerd in the background (log: /var/log/faultline-dockerd.log)"
  # setsid: the engine outlives this script and the make that called it
  setsid nohup dockerd --host unix:///var/run/docker.sock >/var/log/faultline-dockerd.log 2>&1 < /dev/null &
  for _ in $(seq 1 150); do
    [ -S /var/run/docker.sock ] && engine_answers && break
    sleep 0.2
  done
  engine_answers || { log "dockerd did not answer within 30 s; last lines of its log:"; tail -20 /var/log/faultline-dockerd.log >&2; exit 1; }
fi
log "engine $(docker version --format '{{.Server.Version}}') answers"

"$here/build-testbox.sh"
