#!/usr/bin/env bash
# run-in-vm.sh (faultline's copy) - run a command inside a throw-away QEMU guest that boots
# Debian's stock kernel (it has sch_netem, sch_prio, ifb, nf_tables, ... as
# modules) and sees the HOST's root filesystem read-only over virtio-9p with a
# tmpfs overlay on top, so every host binary (tc, ip, iptables, node, dockerd,
# your checkout) works inside and nothing the guest writes reaches the host.
#
# usage: run-in-vm.sh [options] [--] command [args...]
#   one argument  -> run with `bash -c "$1"`  (shell syntax allowed)
#   several args  -> exec'd as-is (each argument preserved)
# options:
#   -m MiB      guest memory            (default $NETEM_VM_MEM or 2048)
#   -c N        guest vCPUs             (default $NETEM_VM_CPUS or nproc)
#   -w DIR      share host DIR read-WRITE at the same path (repeatable)
#   -t SEC      kill the guest after SEC seconds (default $NETEM_VM_TIMEOUT or 900)
#   -a ACCEL    tcg | kvm | auto        (default $NETEM_VM_ACCEL or auto)
#   -k VMLINUZ  kernel image; its modules must be in /lib/modules/<ver> or
#               in $NETEM_VM_KROOT/lib/modules/<ver>
#   -v          print the guest kernel console log afterwards
#   -S          setup only: install missing tools, fetch the kernel, build the
#               initramfs, then exit 0 without booting (no command needed)
# With no -k: uses /boot/vmlinuz-* if a linux-image package is installed,
# otherwise `apt-get download`s Debian's current linux-image-*-amd64 once and
# unpacks it (dpkg-deb -x, nothing installed) into the cache dir.
# stdout/stderr of the command are streamed to this script's stdout/stderr;
# the command's exit code becomes this script's exit code; infrastructure
# failures (guest never reported a code, timeout) exit 125.
# Inside the guest NETEM_VM=1 is set, /run /var/lib/docker /mnt are empty
# tmpfs, cgroup2 is mounted, and sch_netem etc. are already loaded.
#
# Needs (Debian 12): qemu-system-x86, busybox-static, kmod, cpio, xz-utils; plus
# linux-image-amd64 OR apt access for the download. As root on Debian, whatever
# is missing is installed with `apt-get install -y --no-install-recommends`
# (after `apt-get update` when the package lists are absent or stale);
# NETEM_VM_NO_INSTALL=1 turns that off.
#
# Credits: adapted from the shared tool /work/shared/tools/netem-vm/run-in-vm.sh
# (PVH direct boot, 9p host-root + tmpfs overlay, exchange-dir protocol are
# all from there). faultline's changes: installs its own prerequisites,
# serialises the one-time kernel/initramfs setup with flock (several runs may
# share ~/.cache/netem-vm), retries the kernel lookup after `apt-get update`,
# -S (setup only), and does not leak the host's DOCKER_HOST/DOCKER_CONTEXT
# into the guest (the guest runs its own engine on /run/docker.sock).
set -euo pipefail

MEM=${NETEM_VM_MEM:-2048}
CPUS=${NETEM_VM_CPUS:-$(nproc)}
TIMEOUT=${NETEM_VM_TIMEOUT:-900}
ACCEL=${NETEM_VM_ACCEL:-auto}
KERNEL=${NETEM_VM_KERNEL:-}
KROOT=${NETEM_VM_KROOT:-/}
CACHE=${NETEM_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/netem-vm}
VERBOSE=0
SETUP_ONLY=0
RW_DIRS=()
while getopts "m:c:w:t:a:k:vSh" o; do
  case $o in
    m) MEM=$OPTARG ;; c) CPUS=$OPTARG ;; w) RW_DIRS+=("$(realpath "$OPTARG")") ;;
    t) TIMEOUT=$OPTARG ;; a) ACCEL=$OPTARG ;; k) KERNEL=$OPTARG ;; v) VERBOSE=1 ;;
    S) SETUP_ONLY=1 ;;
    h) sed -n '2,44p' "$0"; exit 0 ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || [ "$SETUP_ONLY" = 1 ] || { echo "usage: $0 [options] [--] command [args...]" >&2; exit 2; }

die() { echo "run-in-vm: $*" >&2; exit 125; }
log() { echo "run-in-vm: $*" >&2; }

# ---------------------------------------------------------------- host tools
static_busybox() {  # prints the path of a static busybox, if any
  local b
  for b in /bin/busybox "$(command -v busybox 2>/dev/null || true)"; do
    [ -n "$b" ] && [ -x "$b" ] && ! ldd "$b" >/dev/null 2>&1 && { echo "$b"; return 0; }
  done
  return 1
}
missing_pkgs() {
  local -a m=()
  command -v qemu-system-x86_64 >/dev/null || m+=(qemu-system-x86)
  static_busybox >/dev/null || m+=(busybox-static)
  { command -v modprobe && command -v depmod; } >/dev/null || m+=(kmod)
  command -v cpio >/dev/null || m+=(cpio)
  command -v xz >/dev/null || m+=(xz-utils)
  command -v flock >/dev/null || m+=(util-linux)
  echo "${m[*]}"
}
MISSING=$(missing_pkgs)
if [ -n "$MISSING" ]; then
  [ "${NETEM_VM_NO_INSTALL:-0}" != 1 ] || die "missing: $MISSING (NETEM_VM_NO_INSTALL=1, not installing)"
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null \
    || die "missing: $MISSING - install them (apt-get install --no-install-recommends $MISSING)"
  log "installing $MISSING (apt-get, --no-install-recommends)"
  export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
  APTLOG=$(mktemp /tmp/netem-vm-apt.XXXXXX)
  # shellcheck disable=SC2086
  if ! apt-get install -y -q --no-install-recommends $MISSING >"$APTLOG" 2>&1; then
    log "install failed; running apt-get update and retrying"
    apt-get update -q >>"$APTLOG" 2>&1 || { tail -20 "$APTLOG" >&2; die "apt-get update failed"; }
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $MISSING >>"$APTLOG" 2>&1 \
      || { tail -20 "$APTLOG" >&2; die "apt-get install $MISSING failed"; }
  fi
  rm -f "$APTLOG"
  MISSING=$(missing_pkgs)
  [ -z "$MISSING" ] || die "still missing after install: $MISSING"
fi
BUSYBOX=$(static_busybox) || die "no static busybox (apt-get install busybox-static)"
mkdir -p "$CACHE"
# one-time setup (kernel download, vmlinux extraction, initramfs) is shared by
# concurrent runs through the cache dir: serialise it
exec {LOCKFD}>"$CACHE/.lock"
flock -w 900 "$LOCKFD" || die "could not lock $CACHE/.lock within 900 s"

# ---------------------------------------------------------------- kernel
if [ -z "$KERNEL" ]; then
  KERNEL=
  [ "${NETEM_VM_USE_BOOT:-1}" = 1 ] && KERNEL=$(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V | tail -1 || true)
  if [ -n "$KERNEL" ] && [ -d "/lib/modules/${KERNEL##*/vmlinuz-}/kernel" ]; then
    KROOT=/
  else
    KERNEL=$(ls -1 "$CACHE"/kernel/boot/vmlinuz-* 2>/dev/null | sort -V | tail -1 || true)
    if [ -z "$KERNEL" ]; then
      echo "run-in-vm: fetching Debian kernel package into $CACHE/kernel (one-time)" >&2
      resolve() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}'; }
      PKG=$(resolve)
      D=$(mktemp -d "$CACHE/dl.XXXXXX")
      if [ -z "$PKG" ] || ! (cd "$D" && apt-get download -q -o APT::Sandbox::User=root "$PKG" >&2); then
        # no package lists yet (fresh machine) or they point at a superseded version
        [ "$(id -u)" = 0 ] || die "cannot fetch linux-image-amd64 (run apt-get update as root)"
        log "apt-get update (kernel package ${PKG:-unresolved})"
        apt-get update -qq >&2 || die "apt-get update failed"
        PKG=$(resolve)
        [ -n "$PKG" ] || die "cannot resolve linux-image-amd64"
        (cd "$D" && apt-get download -q -o APT::Sandbox::User=root "$PKG" >&2) || die "apt-get download $PKG failed"
      fi
      mkdir -p "$D/x" && dpkg-deb -x "$D"/*.deb "$D/x" || die "dpkg-deb -x failed"
      # keep only what the guest needs: the kernel and its modules
      rm -rf "$CACHE/kernel" && mkdir -p "$CACHE/kernel"
      mv "$D/x/boot" "$CACHE/kernel/boot"
      mkdir -p "$CACHE/kernel/lib" && mv "$D/x/lib/modules" "$CACHE/kernel/lib/modules"
      rm -rf "$D"
      V=$(ls "$CACHE/kernel/lib/modules")
      # drop hardware drivers a 9p/virtio guest never loads (~400 MB -> ~120 MB)
      (cd "$CACHE/kernel/lib/modules/$V/kernel" && rm -rf sound drivers/gpu drivers/media \
        drivers/infiniband drivers/staging drivers/scsi drivers/usb drivers/bluetooth \
        drivers/net/wireless drivers/net/ethernet drivers/iio drivers/isdn drivers/hid \
        drivers/input drivers/mtd drivers/platform drivers/hwmon drivers/nvme drivers/md)
      depmod -b "$CACHE/kernel" "$V"
      KERNEL=$(ls -1 "$CACHE"/kernel/boot/vmlinuz-* | tail -1)
    fi
    KROOT=$CACHE/kernel
  fi
fi
KVER=${KERNEL##*/vmlinuz-}
MODDIR=${KROOT%/}/lib/modules/$KVER
[ -d "$MODDIR" ] || die "$MODDIR missing for kernel $KERNEL"

# PVH direct boot: give QEMU the uncompressed ELF vmlinux (Debian builds with
# CONFIG_PVH=y).  Skips SeaBIOS real mode + in-guest XZ decompression, which
# under TCG saves ~3.5 s per boot.  NETEM_VM_PVH=0 boots the bzImage instead.
BOOT_IMG=$KERNEL
if [ "${NETEM_VM_PVH:-1}" = 1 ] && [ "$(head -c4 "$KERNEL" | od -An -c | tr -d ' ')" != '177ELF' ]; then
  PVH_IMG=$CACHE/vmlinux-$KVER
  if [ ! -s "$PVH_IMG" ] && command -v xz >/dev/null; then
    off=$(LC_ALL=C grep -abo -P '\xfd7zXZ\x00' "$KERNEL" | head -1 | cut -d: -f1 || true)
    if [ -n "$off" ] && xz -dc --single-stream < <(tail -c +$((off + 1)) "$KERNEL") > "$PVH_IMG.$$" 2>/dev/null \
       && [ "$(head -c4 "$PVH_IMG.$$" | od -An -c | tr -d ' ')" = '177ELF' ]; then
      mv "$PVH_IMG.$$" "$PVH_IMG"
    else
      rm -f "$PVH_IMG.$$"
    fi
  fi
  [ -s "$PVH_IMG" ] && BOOT_IMG=$PVH_IMG
fi

if [ "$ACCEL" = auto ]; then
  # Only real VT-x/AMD-V KVM can boot an unmodified kernel.  A PVM-only
  # /dev/kvm (kvm_pvm module, e.g. in Firecracker/PVM sandboxes) cannot: the
  # stock kernel crawls and then dies with "KVM internal error ... emulation failure".
  if [ -w /dev/kvm ] && { [ -d /sys/module/kvm_intel ] || [ -d /sys/module/kvm_amd ]; }; then
    ACCEL=kvm
  else
    ACCEL=tcg
  fi
fi
case $ACCEL in
  kvm) ACCEL_ARGS=(-accel kvm -cpu host) ;;
  tcg) ACCEL_ARGS=(-accel tcg,thread=multi,tb-size=256 -cpu max) ;;
  *) die "bad accel $ACCEL" ;;
esac

# ---------------------------------------------------------------- initramfs
SELF_HASH=$(sha256sum "$0" | cut -c1-12)
INITRD=$CACHE/initrd-$KVER-$SELF_HASH.cpio.gz
if [ ! -s "$INITRD" ]; then
  rm -f "$CACHE"/initrd-"$KVER"-*.cpio.gz   # stale builds of older script versions
  B=$(mktemp -d)
  mkdir -p "$B"/{bin,dev,proc,sys,mods,lower,rw,newroot}
  cp "$BUSYBOX" "$B/bin/busybox"
  : > "$B/mods/order"
  for m in virtio_pci 9pnet_virtio 9p overlay; do
    modprobe -d "$KROOT" -S "$KVER" --show-depends "$m" | awk '$1=="insmod"{print $2}'
  done | awk '!seen[$0]++' | while read -r ko; do
    n=$(basename "$ko"); n=${n%.xz}; n=${n%.zst}
    case $ko in
      *.ko.xz) xz -dc "$ko" > "$B/mods/$n" ;;
      *.ko.zst) zstd -qdc "$ko" > "$B/mods/$n" ;;
      *) cp "$ko" "$B/mods/$n" ;;
    esac
    echo "$n" >> "$B/mods/order"
  done
  cat > "$B/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in $(cat /mods/order); do insmod /mods/$m || echo "insmod $m failed"; done
fatal() { echo "NETEM_VM_FATAL: $*"; poweroff -f; }
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /lower \
  || fatal "9p root mount failed"
mount -t tmpfs -o mode=0755 rw /rw && mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work overlay /newroot \
  || fatal "overlay mount failed"
mkdir -p /newroot/.netem-vm/xchg
mount -t 9p -o trans=virtio,version=9p2000.L,cache=none xchg /newroot/.netem-vm/xchg \
  || fatal "xchg mount failed"
for d in proc sys dev; do mount --move /$d /newroot/$d; done
exec switch_root /newroot /bin/bash /.netem-vm/xchg/stage2.sh
EOF
  chmod +x "$B/init"
  (cd "$B" && find . | cpio -o -H newc --quiet | gzip -1) > "$INITRD.$$"
  mv "$INITRD.$$" "$INITRD"
  rm -rf "$B"
fi

flock -u "$LOCKFD"; exec {LOCKFD}>&-
if [ "$SETUP_ONLY" = 1 ]; then
  log "setup ok: kernel $KVER ($BOOT_IMG), initramfs $INITRD, accel=$ACCEL"
  exit 0
fi

# ---------------------------------------------------------------- exchange dir
XCHG=$(mktemp -d /tmp/netem-vm-xchg.XXXXXX)
QPID= T_OUT= T_ERR=
cleanup() {
  for p in $QPID $T_OUT $T_ERR; do kill "$p" 2>/dev/null || true; done
  rm -rf "$XCHG"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# environment + command for the guest
export -p | grep -vE '^declare -x (PWD|OLDPWD|SHLVL|_|TERM|TMUX|TMUX_PANE|SSH_[A-Z_]*|DISPLAY|DBUS_[A-Z_]*|XDG_RUNTIME_DIR|DOCKER_HOST|DOCKER_CONTEXT)(=|$)' > "$XCHG/env.sh" || true
{
  printf 'cd %q 2>/dev/null || cd /\n' "$PWD"
  if [ $# -eq 1 ]; then printf 'exec bash -c %q\n' "$1"; else printf 'exec'; printf ' %q' "$@"; printf '\n'; fi
} > "$XCHG/cmd.sh"
printf '%s\n' "${RW_DIRS[@]+"${RW_DIRS[@]}"}" > "$XCHG/rwdirs"
printf '%s\n' "$KVER" > "$XCHG/kver"
if [ "$KROOT" != / ]; then printf '%s\n' "$MODDIR" > "$XCHG/moddir"; fi

cat > "$XCHG/stage2.sh" <<'EOF'
# PID 1 inside the guest, on the overlay(host-root-ro + tmpfs) root
X=/.netem-vm/xchg
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mkdir -p /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666,gid=5,mode=620 devpts /dev/pts 2>/dev/null
ln -sf pts/ptmx /dev/ptmx 2>/dev/null
ln -sfn /proc/self/fd /dev/fd; ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout; ln -sf /proc/self/fd/2 /dev/stderr
mount -t tmpfs shm /dev/shm
# hide host state that must not leak into the guest (e.g. the host dockerd's)
for d in /run /var/lib/docker /var/lib/containerd /mnt; do
  [ -d "$d" ] && [ ! -L "$d" ] && mount -t tmpfs tmpfs "$d"
done
mkdir -p /run/lock
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null || mount -t tmpfs cgroup /sys/fs/cgroup
mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
if [ -s $X/moddir ]; then   # kernel unpacked into a cache dir, not installed
  K=$(cat $X/kver); mkdir -p /lib/modules/$K && mount --bind "$(cat $X/moddir)" /lib/modules/$K
fi
i=0
while IFS= read -r d; do
  [ -n "$d" ] || continue
  mkdir -p "$d" && mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=mmap "rw$i" "$d" \
    || echo "run-in-vm: could not mount $d" >&2
  i=$((i+1))
done < $X/rwdirs
ip link set lo up
hostname netem-vm
echo 1 > /proc/sys/kernel/sysrq
# preload what a fault injector needs (one modprobe call: each exec is slow under TCG)
modprobe -q -a sch_netem sch_prio sch_htb sch_tbf cls_u32 cls_fw cls_bpf veth bridge \
  br_netfilter ifb act_mirred nf_tables nft_compat xt_statistic xt_conntrack \
  xt_MASQUERADE xt_addrtype ip_tables iptable_filter iptable_nat iptable_mangle \
  ${NETEM_VM_MODULES:-} 2>/dev/null
set -a; . $X/env.sh 2>/dev/null; set +a
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin${PATH:+:$PATH}
export NETEM_VM=1
cut -d' ' -f1 /proc/uptime > $X/ready_uptime
bash $X/cmd.sh < /dev/null >> $X/stdout 2>> $X/stderr
echo $? > $X/rc
sync
echo o > /proc/sysrq-trigger
sleep 10
EOF

# ---------------------------------------------------------------- qemu
QEMU=(qemu-system-x86_64 "${ACCEL_ARGS[@]}" -machine pc -m "$MEM" -smp "$CPUS"
  -nodefaults -display none -no-reboot
  -kernel "$BOOT_IMG" -initrd "$INITRD"
  -append "console=ttyS0 loglevel=4 panic=-1 8250.nr_uarts=1 tsc=reliable mitigations=off nokaslr apparmor=0 rcupdate.rcu_expedited=1 ${NETEM_VM_APPEND:-}"
  -serial "file:$XCHG/console.log"
  -fsdev local,id=root,path=/,security_model=none,readonly=on,multidevs=remap
  -device virtio-9p-pci,fsdev=root,mount_tag=hostroot
  -fsdev local,id=xchg,path="$XCHG",security_model=none
  -device virtio-9p-pci,fsdev=xchg,mount_tag=xchg)
i=0
for d in "${RW_DIRS[@]+"${RW_DIRS[@]}"}"; do
  QEMU+=(-fsdev "local,id=rw$i,path=$d,security_model=none,multidevs=remap"
         -device "virtio-9p-pci,fsdev=rw$i,mount_tag=rw$i")
  i=$((i+1))
done

[ "$VERBOSE" = 1 ] && { printf 'run-in-vm: '; printf '%q ' timeout -k 5 "$TIMEOUT" "${QEMU[@]}"; echo; } >&2
T0=$(date +%s.%N)
: > "$XCHG/stdout"; : > "$XCHG/stderr"
timeout -k 5 "$TIMEOUT" "${QEMU[@]}" < /dev/null > "$XCHG/qemu.log" 2>&1 &
QPID=$!
# stream the guest's stdout/stderr (files in the 9p exchange dir) live
tail -c +1 -s 0.2 -f --pid="$QPID" "$XCHG/stdout" &
T_OUT=$!
tail -c +1 -s 0.2 -f --pid="$QPID" "$XCHG/stderr" >&2 &
T_ERR=$!
set +e; wait "$QPID"; QRC=$?; wait "$T_OUT" "$T_ERR"; set -e
QPID= T_OUT= T_ERR=
T1=$(date +%s.%N)
[ -s "$XCHG/qemu.log" ] && sed 's/^/run-in-vm: qemu: /' "$XCHG/qemu.log" >&2

if [ "$VERBOSE" = 1 ]; then
  echo "----- guest console -----" >&2; cat "$XCHG/console.log" >&2; echo "-------------------------" >&2
fi
if [ -s "$XCHG/rc" ]; then
  RC=$(cat "$XCHG/rc")
  printf 'run-in-vm: exit code %s (kernel %s, accel=%s, guest ready at %ss uptime, wall %.1fs)\n' \
    "$RC" "$KVER" "$ACCEL" "$(cat "$XCHG/ready_uptime" 2>/dev/null)" "$(awk "BEGIN{print $T1 - $T0}")" >&2
  exit "$RC"
fi
echo "run-in-vm: guest did not report an exit code (qemu rc=$QRC, timeout=${TIMEOUT}s). console tail:" >&2
tail -n 40 "$XCHG/console.log" >&2 || true
exit 125
