#!/usr/bin/env bash
# multi-vm.sh — two throw-away QEMU guests, each with its own Docker engine, joined into one Swarm:
# the test bed for faultline across engines (`make multi`, scripts/multi-vm/README.md).
#
#   multi-vm.sh up STATE_DIR           boot guests a and b in parallel; wait for both engines;
#                                      swarm init (a) + join (b); import faultline/testbox into each;
#                                      write STATE_DIR/env (engine addresses, DOCKER_CONFIG)
#   multi-vm.sh exec STATE_DIR a CMD   run CMD (one bash string) inside guest a; its exit code
#   multi-vm.sh down STATE_DIR         power both guests off; keep the logs in STATE_DIR
#
# Each guest boots Debian's stock kernel over this machine's root filesystem (read-only 9p + a
# tmpfs overlay: the host's dockerd, iproute2 and iptables run inside), exactly like the netem
# guest: the kernel, the initramfs and the tools come from scripts/netem-vm/run-in-vm.sh -S (this
# script only writes its own stage 2 into the guest's exchange directory). Networking, host side
# needs no root and no bridge:
#
#   guest a  eth (52:54:00:fa:00:0a)  10.99.0.1/24  ─┐ -netdev socket, listen=127.0.0.1:<S>
#   guest b  eth (52:54:00:fa:00:0b)  10.99.0.2/24  ─┘ -netdev socket, connect=127.0.0.1:<S>
#   each     eth (52:54:00:fb:00:0?)  192.168.76.15/24  -netdev user,restrict=on (no way out of the
#                                     guest), hostfwd=tcp:127.0.0.1:<D>-192.168.76.15:2376 (dockerd, TLS)
#   (not slirp's default 10.0.2.0/24: Swarm's default address pool hands out 10.0.x.0/24 subnets)
#
# The Swarm (management 2377/tcp, gossip 7946, VXLAN 4789/udp) and every container packet stay on
# the socket network between the two guests. Each dockerd listens with --tlsverify on the forwarded
# port; the CA, server and client certificates are made here with openssl (STATE_DIR/tls), and
# STATE_DIR/docker-config holds Docker CLI contexts `fl-a` and `fl-b` with them (what
# `faultline controller --context` reads).
#
# A guest runs a small agent (guest-agent.sh) that takes commands from its exchange directory:
# that is how a test kills and restarts a guest's dockerd. Timings of every phase go to
# STATE_DIR/phases.txt.
#
# Environment: MULTI_VM_MEM (MiB per guest, default 1536), MULTI_VM_CPUS (default 1: two guests share
# this machine's cores; measured faster than 2 each under load),
# MULTI_VM_TIMEOUT (guest lifetime, default 1800 s), MULTI_VM_READY_TIMEOUT (boot + dockerd,
# default 300 s).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

MEM=${MULTI_VM_MEM:-1536}
CPUS=${MULTI_VM_CPUS:-1}
LIFETIME=${MULTI_VM_TIMEOUT:-1800}
READY_TIMEOUT=${MULTI_VM_READY_TIMEOUT:-300}
GUESTS=(a b)

log() { echo "multi-vm: $*" >&2; }
die() { echo "multi-vm: $*" >&2; exit 125; }
now() { date +%s.%N; }

# ---------------------------------------------------------------- helpers
free_port() { # a free TCP port on 127.0.0.1 (the kernel picks it; a race is possible but unlikely)
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}
listening() { # listening PORT: is something listening on 127.0.0.1:PORT (without connecting to it)
  ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}
ip_of() { case $1 in a) echo 10.99.0.1 ;; b) echo 10.99.0.2 ;; esac; }
mac_tail() { case $1 in a) echo 0a ;; b) echo 0b ;; esac; }

phase_start=
phase() { # phase NAME [START]: one line in phases.txt, seconds since START (default: the last phase)
  local t s; t=$(now); s=${2:-$phase_start}
  printf '%-34s %6.1fs\n' "$1" "$(awk "BEGIN{print $t - $s}")" | tee -a "$STATE/phases.txt" >&2
  phase_start=$t
}

# Docker CLI against guest G through its context.
dk() { local g=$1; shift; DOCKER_CONFIG="$STATE/docker-config" docker --context "fl-$g" "$@"; }

# ---------------------------------------------------------------- certificates
make_tls() {
  local d=$STATE/tls
  mkdir -p "$d"
  (
    cd "$d"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=faultline-multi-vm-ca \
      -keyout ca-key.pem -out ca.pem 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj /CN=faultline-multi-vm-engine \
      -keyout server-key.pem -out server.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,IP:192.168.76.15,IP:10.99.0.1,IP:10.99.0.2\nextendedKeyUsage=serverAuth\n' > server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 \
      -extfile server.ext -out server-cert.pem 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj /CN=faultline-multi-vm-client \
      -keyout key.pem -out client.csr 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\n' > client.ext
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 \
      -extfile client.ext -out cert.pem 2>/dev/null
    rm -f ./*.csr ./*.ext ca.srl
    chmod 600 ./*key.pem
  )
}

# ---------------------------------------------------------------- one guest
# boot_guest G: starts QEMU for guest G in the background (pid in STATE/G/qemu.pid).
boot_guest() {
  local g=$1 x=$STATE/$1
  mkdir -p "$x/cmd"
  cp "$STATE/tls/ca.pem" "$STATE/tls/server-cert.pem" "$STATE/tls/server-key.pem" "$x/"
  cp "$here/guest-agent.sh" "$x/guest-agent.sh"
  printf '%s\n' "$KVER" > "$x/kver"
  if [ "$KROOT" != / ]; then printf '%s\n' "$MODDIR" > "$x/moddir"; fi
  printf 'GUEST=%s\nSWARM_IP=%s\nSWARM_MAC=52:54:00:fa:00:%s\nUSER_MAC=52:54:00:fb:00:%s\n' \
    "$g" "$(ip_of "$g")" "$(mac_tail "$g")" "$(mac_tail "$g")" > "$x/guest.env"
  # Stage 2: PID 1 of the guest, on the overlay root (the netem guest's stage 2, plus the network).
  cat > "$x/stage2.sh" <<'EOF'
X=/.netem-vm/xchg
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mkdir -p /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666,gid=5,mode=620 devpts /dev/pts 2>/dev/null
ln -sf pts/ptmx /dev/ptmx 2>/dev/null
ln -sfn /proc/self/fd /dev/fd; ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout; ln -sf /proc/self/fd/2 /dev/stderr
mount -t tmpfs shm /dev/shm
if [ -s $X/moddir ]; then K=$(cat $X/kver); mkdir -p /lib/modules/$K && mount --bind "$(cat $X/moddir)" /lib/modules/$K; fi
# (the kernel's modules first: they may live under /root/.cache, hidden below)
for d in /run /var/lib/docker /var/lib/containerd /mnt /etc/docker /root; do
  [ -d "$d" ] && [ ! -L "$d" ] && mount -t tmpfs tmpfs "$d"
done
mkdir -p /run/lock
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null || mount -t tmpfs cgroup /sys/fs/cgroup
mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
echo 1 > /proc/sys/kernel/sysrq
modprobe -q -a virtio_net vxlan sch_netem sch_prio sch_htb sch_tbf cls_u32 cls_fw veth bridge br_netfilter \
  ifb act_mirred nf_tables nft_compat xt_statistic xt_conntrack xt_MASQUERADE xt_addrtype xt_comment \
  xt_mark xt_multiport xt_tcpudp ip_tables iptable_filter iptable_nat iptable_mangle ip_vs 2>/dev/null
cut -d' ' -f1 /proc/uptime > $X/ready_uptime
exec bash $X/guest-agent.sh < /dev/null >> $X/agent.log 2>&1
EOF
  local -a q=(qemu-system-x86_64 "${ACCEL_ARGS[@]}" -machine pc -m "$MEM" -smp "$CPUS"
    -nodefaults -display none -no-reboot
    -kernel "$BOOT_IMG" -initrd "$INITRD"
    -append "console=ttyS0 loglevel=4 panic=-1 8250.nr_uarts=1 tsc=reliable mitigations=off nokaslr apparmor=0 rcupdate.rcu_expedited=1 net.ifnames=0"
    -serial "file:$x/console.log"
    -fsdev local,id=root,path=/,security_model=none,readonly=on,multidevs=remap
    -device virtio-9p-pci,fsdev=root,mount_tag=hostroot
    -fsdev "local,id=xchg,path=$x,security_model=none"
    -device virtio-9p-pci,fsdev=xchg,mount_tag=xchg
    -device "virtio-net-pci,netdev=sw,mac=52:54:00:fa:00:$(mac_tail "$g")"
    -device "virtio-net-pci,netdev=up,mac=52:54:00:fb:00:$(mac_tail "$g")"
    -netdev "user,id=up,restrict=on,net=192.168.76.0/24,host=192.168.76.2,hostfwd=tcp:127.0.0.1:$(cat "$STATE/port-$g")-192.168.76.15:2376")
  if [ "$g" = a ]; then q+=(-netdev "socket,id=sw,listen=127.0.0.1:$SOCKET_PORT")
  else q+=(-netdev "socket,id=sw,connect=127.0.0.1:$SOCKET_PORT"); fi
  setsid timeout -k 5 "$LIFETIME" "${q[@]}" < /dev/null > "$x/qemu.log" 2>&1 &
  echo $! > "$x/qemu.pid"
}

# ---------------------------------------------------------------- commands
cmd_up() {
  mkdir -p "$STATE"
  : > "$STATE/phases.txt"
  local t0; t0=$(now); phase_start=$t0
  command -v openssl >/dev/null || die "openssl is missing (apt-get install openssl)"
  command -v docker >/dev/null || die "the docker CLI is missing (apt-get install docker.io)"
  command -v ss >/dev/null || die "ss is missing (apt-get install iproute2)"
  # Kernel, initramfs and host tools: exactly the netem guest's (installed/fetched once, cached).
  local setup
  setup=$("$root/scripts/netem-vm/run-in-vm.sh" -S 2>&1) || { echo "$setup" >&2; die "guest tooling setup failed"; }
  # "run-in-vm: setup ok: kernel <ver> (<image>), initramfs <file>, accel=<tcg|kvm>"
  KVER=$(sed -n 's/.*setup ok: kernel \([^ ]*\) (.*/\1/p' <<<"$setup")
  BOOT_IMG=$(sed -n 's/.*setup ok: kernel [^ ]* (\([^)]*\)).*/\1/p' <<<"$setup")
  INITRD=$(sed -n 's/.*initramfs \([^,]*\),.*/\1/p' <<<"$setup")
  local accel; accel=$(sed -n 's/.*accel=\([a-z]*\).*/\1/p' <<<"$setup")
  [ -n "$KVER" ] && [ -s "$BOOT_IMG" ] && [ -s "$INITRD" ] || { echo "$setup" >&2; die "cannot read run-in-vm.sh -S output"; }
  case $accel in
    kvm) ACCEL_ARGS=(-accel kvm -cpu host) ;;
    *) ACCEL_ARGS=(-accel tcg,thread=multi,tb-size=256 -cpu "${MULTI_VM_CPU_MODEL:-max}") ;;
  esac
  KROOT=/; MODDIR=/lib/modules/$KVER
  if [ ! -d "$MODDIR/kernel" ]; then
    local cache=${NETEM_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/netem-vm}
    KROOT=$cache/kernel; MODDIR=$KROOT/lib/modules/$KVER
  fi
  [ -d "$MODDIR" ] || die "no modules for kernel $KVER ($MODDIR)"
  make_tls
  for g in "${GUESTS[@]}"; do free_port > "$STATE/port-$g"; done
  SOCKET_PORT=$(free_port)
  phase "tooling + certificates"

  local tboot; tboot=$(now)
  boot_guest a
  for _ in $(seq 1 100); do listening "$SOCKET_PORT" && break; sleep 0.1; done
  listening "$SOCKET_PORT" || die "guest a's QEMU does not listen on 127.0.0.1:$SOCKET_PORT (see $STATE/a/qemu.log)"
  boot_guest b

  # Contexts for the Docker CLI (and for faultline --context): TLS from STATE/tls.
  local tls=$STATE/tls
  for g in "${GUESTS[@]}"; do
    DOCKER_CONFIG="$STATE/docker-config" docker context create "fl-$g" --description "faultline multi-vm guest $g" \
      --docker "host=tcp://127.0.0.1:$(cat "$STATE/port-$g"),ca=$tls/ca.pem,cert=$tls/cert.pem,key=$tls/key.pem" >/dev/null
  done
  {
    echo "export MULTI_VM_STATE=$STATE"
    echo "export MULTI_VM_DOCKER_CONFIG=$STATE/docker-config"
    for g in "${GUESTS[@]}"; do
      echo "export MULTI_VM_ENGINE_${g^^}=tcp://127.0.0.1:$(cat "$STATE/port-$g")"
      echo "export MULTI_VM_SWARM_IP_${g^^}=$(ip_of "$g")"
    done
    echo "export MULTI_VM_TLS=$tls"
  } > "$STATE/env"

  # Both guests boot at once; wait for the agents, then start both engines at once.
  local deadline=$(( $(date +%s) + READY_TIMEOUT ))
  for g in "${GUESTS[@]}"; do
    until [ -s "$STATE/$g/ready_uptime" ]; do
      [ "$(date +%s)" -lt "$deadline" ] || { tail -30 "$STATE/$g/console.log" >&2; die "guest $g did not boot within ${READY_TIMEOUT}s"; }
      kill -0 "$(cat "$STATE/$g/qemu.pid")" 2>/dev/null || { cat "$STATE/$g/qemu.log" >&2; tail -30 "$STATE/$g/console.log" >&2; die "guest $g's QEMU exited"; }
      sleep 0.2
    done
  done
  phase "both guests booted (agent up)" "$tboot"
  printf '  guest a ready at uptime %ss, guest b at %ss\n' "$(cat "$STATE/a/ready_uptime")" "$(cat "$STATE/b/ready_uptime")" | tee -a "$STATE/phases.txt" >&2
  local pids=()
  for g in "${GUESTS[@]}"; do cmd_exec_one "$g" dockerd-start & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p" || die "dockerd did not start in a guest (logs: $STATE/*/dockerd.log)"; done
  for g in "${GUESTS[@]}"; do
    until dk "$g" version --format '{{.Server.Version}}' >/dev/null 2>&1; do
      [ "$(date +%s)" -lt "$deadline" ] || die "engine $g does not answer on 127.0.0.1:$(cat "$STATE/port-$g") (log: $STATE/$g/dockerd.log)"
      sleep 0.3
    done
  done
  phase "both engines answer (TLS, forwarded)"

  # The Swarm, over the socket network only.
  dk a swarm init --advertise-addr 10.99.0.1 --listen-addr 10.99.0.1:2377 --data-path-addr 10.99.0.1 >/dev/null
  local token; token=$(dk a swarm join-token -q worker)
  dk b swarm join --advertise-addr 10.99.0.2 --listen-addr 10.99.0.2:2377 --data-path-addr 10.99.0.2 \
    --token "$token" 10.99.0.1:2377 >/dev/null
  until [ "$(dk a node ls --format '{{.Status}}' 2>/dev/null | grep -c Ready)" = 2 ]; do
    [ "$(date +%s)" -lt "$deadline" ] || { dk a node ls >&2 || true; die "the swarm did not reach 2 Ready nodes"; }
    sleep 0.5
  done
  phase "swarm: a manager, b worker, 2 Ready"

  # The test image, imported once into each engine (built from the host's busybox; no pull).
  pids=()
  for g in "${GUESTS[@]}"; do
    DOCKER_CONFIG="$STATE/docker-config" DOCKER_CONTEXT="fl-$g" "$root/scripts/build-testbox.sh" & pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || die "importing faultline/testbox into a guest failed"; done
  phase "faultline/testbox imported into a and b"
  phase "up (total)" "$t0"
}

# cmd_exec_one G CMD: hand CMD to guest G's agent and wait for its exit code (output to stdout/stderr).
cmd_exec_one() {
  local g=$1; shift
  local x=$STATE/$g id
  id=$(date +%s%N)-$$-$RANDOM
  printf '%s\n' "$*" > "$x/cmd/.$id.tmp"
  mv "$x/cmd/.$id.tmp" "$x/cmd/$id.sh"
  local pid; pid=$(cat "$x/qemu.pid")
  until [ -e "$x/cmd/$id.rc" ]; do
    kill -0 "$pid" 2>/dev/null || { echo "multi-vm: guest $g is gone" >&2; return 125; }
    sleep 0.1
  done
  cat "$x/cmd/$id.out"
  cat "$x/cmd/$id.err" >&2
  local rc; rc=$(cat "$x/cmd/$id.rc")
  rm -f "$x/cmd/$id".*
  return "$rc"
}

cmd_down() {
  for g in "${GUESTS[@]}"; do
    [ -s "$STATE/$g/qemu.pid" ] || continue
    local pid; pid=$(cat "$STATE/$g/qemu.pid")
    kill -0 "$pid" 2>/dev/null || continue
    printf 'poweroff\n' > "$STATE/$g/cmd/.off.tmp" && mv "$STATE/$g/cmd/.off.tmp" "$STATE/$g/cmd/zz-poweroff.sh"
  done
  for g in "${GUESTS[@]}"; do
    [ -s "$STATE/$g/qemu.pid" ] || continue
    local pid; pid=$(cat "$STATE/$g/qemu.pid")
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    # Still there after 20 s: it is ours (its pid file), end it.
    kill -0 "$pid" 2>/dev/null && { kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; }
  done
  return 0
}

[ $# -ge 2 ] || { sed -n '2,12p' "$0" >&2; exit 2; }
action=$1
STATE=$(mkdir -p "$2" && cd "$2" && pwd)
shift 2
case $action in
  up) cmd_up ;;
  exec) [ $# -ge 2 ] || die "usage: multi-vm.sh exec STATE_DIR a|b CMD"; g=$1; shift; cmd_exec_one "$g" "$*" ;;
  down) cmd_down ;;
  *) die "unknown action $action (up | exec | down)" ;;
esac
