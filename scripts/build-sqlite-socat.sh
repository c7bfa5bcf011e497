#!/usr/bin/env bash
# build-sqlite-socat.sh — build the local image faultline/sqlite-socat from Debian's packages with
# `docker import` (no registry is reachable here, so nothing is ever pulled): Debian's sqlite3 and
# socat binaries with the shared libraries they link (as ldd lists them), busybox applets (sh,
# nc, ...) from busybox-static, and the same tiny init as faultline/testbox. For the seed technique
# "SQLite over socat" (examples/sqlite-over-socat.yaml): a database served from a file on a volume,
# a relay joining two networks, a client whose queries a fault slows down, then cuts off.
#
# Missing packages (sqlite3, socat, busybox-static) are installed with apt-get when run as root.
# The image is rebuilt only when its recipe changes (this file, and the packages' versions): the
# recipe's hash is a label.
set -euo pipefail
IMAGE=${SQLITE_SOCAT_IMAGE:-faultline/sqlite-socat:latest}
log() { printf 'build-sqlite-socat: %s\n' "$*" >&2; }
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=rootfs-lib.sh
. "$here/rootfs-lib.sh"

need=()
command -v sqlite3 >/dev/null 2>&1 || need+=(sqlite3)
command -v socat >/dev/null 2>&1 || need+=(socat)
[ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 || need+=(busybox-static)
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || {
    log "missing ${need[*]}: install them (apt-get install ${need[*]}) and rerun"
    exit 1
  }
  log "installing ${need[*]} from apt"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 || {
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  }
fi
SQLITE=$(command -v sqlite3)
SOCAT=$(command -v socat)

versions=$(dpkg-query -W -f '${Package}=${Version}\n' sqlite3 socat busybox-static 2>/dev/null || true)
recipe_hash=$({ cat "$0" "$here/rootfs-lib.sh"; echo "$versions"; ls -lL "$SQLITE" "$SOCAT" /bin/busybox; } | sha256sum | cut -c1-16)
have=$(docker image inspect -f '{{index .Config.Labels "faultline.dev/recipe"}}' "$IMAGE" 2>/dev/null || true)
if [ "$have" = "$recipe_hash" ]; then exit 0; fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,tmp,proc,sys,dev,etc,root,data}
rootfs_busybox "$root"
cp "$SQLITE" "$root/usr/bin/sqlite3"
cp "$SOCAT" "$root/usr/bin/socat"
# Every library the two binaries load, at the path the loader looks for it (the loader included).
for lib in $(ldd "$SQLITE" "$SOCAT" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\// && $i !~ /:$/) print $i }' | sort -u); do
  cp -L --parents "$lib" "$root"
done
rootfs_init "$root"
rootfs_etc "$root"
printf 'hosts: files dns\n' > "$root/etc/nsswitch.conf"
# Both tools must start in the image as built (a missing library fails here, not in a test).
chroot "$root" /usr/bin/sqlite3 -version >/dev/null
chroot "$root" /usr/bin/socat -V >/dev/null
tar -C "$root" -c . | docker import \
  -c 'ENTRYPOINT ["/sbin/faultline-init"]' \
  -c 'CMD ["sleep", "2147483647"]' \
  -c 'ENV PATH=/usr/bin:/bin:/sbin' \
  -c "LABEL faultline.dev/recipe=$recipe_hash" \
  -c 'LABEL org.opencontainers.image.title=faultline-sqlite-socat' \
  - "$IMAGE" >/dev/null
log "built $IMAGE: $("$SQLITE" -version | cut -d' ' -f1), $("$SOCAT" -V | sed -n 2p | cut -c1-40)"
