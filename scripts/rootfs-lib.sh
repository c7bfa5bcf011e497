# rootfs-lib.sh — sourced by build-testbox.sh and build-sqlite-socat.sh: the parts of the root
# filesystems they `docker import` that are the same. Each function takes the root directory.
# Both scripts hash this file into their recipe, so a change here rebuilds both images.

# busybox-static at ROOT/bin/busybox and a symlink per applet, made by one process for ~400
# links (a fork per `ln` costs ~20 s inside the emulated netem guest).
rootfs_busybox() {
  local root=$1
  cp /bin/busybox "$root/bin/busybox"
  "$root/bin/busybox" --list | node -e '
    const fs = require("fs"); const dir = process.argv[1];
    for (const a of fs.readFileSync(0, "utf8").split("\n").filter(Boolean))
      if (!fs.existsSync(dir + "/" + a)) fs.symlinkSync("busybox", dir + "/" + a);' "$root/bin"
}

# ROOT/sbin/faultline-init: PID 1 that runs the command and exits promptly on TERM/INT (busybox
# `sleep` as PID 1 ignores SIGTERM, so every `docker stop` would wait for its timeout).
rootfs_init() {
  local root=$1
  cat > "$root/sbin/faultline-init" <<'INIT'
#!/bin/sh
# PID 1: run the command, exit promptly on TERM/INT.
trap 'exit 0' TERM INT
if [ $# -eq 0 ]; then set -- sleep 2147483647; fi
"$@" &
child=$!
wait $child
INIT
  chmod 755 "$root/sbin/faultline-init"
}

# root and nobody in ROOT/etc/passwd and group; ROOT/tmp writable by all, sticky.
rootfs_etc() {
  local root=$1
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
  chmod 1777 "$root/tmp"
}
