#!/usr/bin/env bash
# build-testbox.sh — build the local image faultline/testbox from Debian's busybox-static with
# `docker import` (no registry is reachable here, so nothing is ever pulled).
#
# The image has busybox applets (sh, ping, nc, wget, httpd, ip, ...) and a tiny init as PID 1:
# busybox `sleep` as PID 1 ignores SIGTERM (PID 1 has no default signal handlers), so every
# `docker stop` would wait for its timeout. /sbin/faultline-init traps TERM/INT and exits at once.
# The image is rebuilt only when its recipe (this file) changes: the recipe's hash is a label.
set -euo pipefail
IMAGE=${TESTBOX_IMAGE:-faultline/testbox:latest}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=rootfs-lib.sh
. "$here/rootfs-lib.sh"
recipe_hash=$( { cat "$0" "$here/rootfs-lib.sh"; ls -l /bin/busybox; } | sha256sum | cut -c1-16)
have=$(docker image inspect -f '{{index .Config.Labels "faultline.dev/recipe"}}' "$IMAGE" 2>/dev/null || true)
if [ "$have" = "$recipe_hash" ]; then exit 0; fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,tmp,proc,sys,dev,etc,root,var/www}
rootfs_busybox "$root"
rootfs_init "$root"
rootfs_etc "$root"
tar -C "$root" -c . | docker import \
  -c 'ENTRYPOINT ["/sbin/faultline-init"]' \
  -c 'CMD ["sleep", "2147483647"]' \
  -c "LABEL faultline.dev/recipe=$recipe_hash" \
  -c 'LABEL org.opencontainers.image.title=faultline-testbox' \
  - "$IMAGE" >/dev/null
echo "build-testbox: built $IMAGE from $(/bin/busybox | head -1 | cut -c1-40)" >&2
