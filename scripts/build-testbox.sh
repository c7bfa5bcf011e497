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
recipe_hash=$( { cat "$0"; ls -l /bin/busybox; } | sha256sum | cut -c1-16)
have=$(docker image inspect -f '{{index .Config.Labels "faultline.dev/recipe"}}' "$IMAGE" 2>/dev/null || true)
if [ "$have" = "$recipe_hash" ]; then exit 0; fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,tmp,proc,sys,dev,etc,root,var/www}
cp /bin/busybox "$root/bin/busybox"
# One process for ~400 symlinks (a fork per `ln` costs ~20 s inside the emulated netem guest).
"$root/bin/busybox" --list | node -e '
  const fs = require("fs"); const dir = process.argv[1];
  for (const a of fs.readFileSync(0, "utf8").split("\n").filter(Boolean))
    if (!fs.existsSync(dir + "/" + a)) fs.symlinkSync("busybox", dir + "/" + a);' "$root/bin"
cat > "$root/sbin/faultline-init" <<'INIT'
#!/bin/sh
# PID 1 for test containers: run the command, exit promptly on TERM/INT.
trap 'exit 0' TERM INT
if [ $# -eq 0 ]; then set -- sleep 2147483647; fi
"$@" &
child=$!
wait $child
INIT
chmod 755 "$root/sbin/faultline-init"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
chmod 1777 "$root/tmp"
tar -C "$root" -c . | docker import \
  -c 'ENTRYPOINT ["/sbin/faultline-init"]' \
  -c 'CMD ["sleep", "2147483647"]' \
  -c "LABEL faultline.dev/recipe=$recipe_hash" \
  -c 'LABEL org.opencontainers.image.title=faultline-testbox' \
  - "$IMAGE" >/dev/null
echo "build-testbox: built $IMAGE from $(/bin/busybox | head -1 | cut -c1-40)" >&2
