#!/bin/bash
# guest-agent.sh — PID 1's work inside a multi-vm guest (started by the stage 2 multi-vm.sh writes).
# Sets the guest's network up, then runs commands the host drops into the exchange directory:
#   X/cmd/<id>.sh  → renamed <id>.run, run with `bash -c`, then <id>.out, <id>.err and <id>.rc
# (rc last, by rename: the host waits for it). Besides any shell command, the words below are
# functions every command can call:
#   dockerd-start   a private dockerd: unix socket + tcp://192.168.76.15:2376 with --tlsverify; returns
#                   once it answers (its data stays on the guest's tmpfs across restarts)
#   dockerd-kill    SIGKILL dockerd (containers' shims survive it; the engine goes away)
#   poweroff        sync and power the guest off
X=/.netem-vm/xchg
# shellcheck disable=SC1091
. $X/guest.env
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export NETEM_VM=1 MULTI_VM_GUEST=$GUEST
hostname "fl-$GUEST"
ip link set lo up
ifname_of() {
  local i
  for i in /sys/class/net/*; do [ "$(cat "$i/address")" = "$1" ] && basename "$i"; done
}
SW=$(ifname_of "$SWARM_MAC")
UP=$(ifname_of "$USER_MAC")
ip addr add "$SWARM_IP/24" dev "$SW" && ip link set "$SW" up
ip addr add 192.168.76.15/24 dev "$UP" && ip link set "$UP" up
echo "agent: guest $GUEST, $SW=$SWARM_IP (swarm), $UP=192.168.76.15 (dockerd, forwarded)"

dockerd-start() {
  if [ -s /run/dockerd.pid ] && kill -0 "$(cat /run/dockerd.pid)" 2>/dev/null; then
    echo "dockerd already running"
    return 0
  fi
  setsid dockerd --host unix:///run/docker.sock --host tcp://192.168.76.15:2376 \
    --tlsverify --tlscacert $X/ca.pem --tlscert $X/server-cert.pem --tlskey $X/server-key.pem \
    --data-root /var/lib/docker --exec-root /run/docker-exec --pidfile /run/dockerd.pid \
    --storage-driver overlay2 --log-level warn >> $X/dockerd.log 2>&1 < /dev/null &
  local pid=$! i
  for i in $(seq 1 900); do
    docker -H unix:///run/docker.sock version --format '{{.Server.Version}}' > /dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || { echo "dockerd exited; log tail:" >&2; tail -20 $X/dockerd.log >&2; return 3; }
    sleep 0.2
  done
  echo "dockerd did not answer within 180 s" >&2
  return 3
}

dockerd-kill() {
  local pid
  pid=$(cat /run/dockerd.pid 2>/dev/null) || { echo "no dockerd pid file" >&2; return 1; }
  kill -9 "$pid" || return 1
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  echo "dockerd $pid killed"
}

poweroff() {
  sync
  echo o > /proc/sysrq-trigger
  sleep 10
}
export X
export -f dockerd-start dockerd-kill poweroff

# Poll without a fork per round (under TCG a fork costs ~50 ms): read with a timeout on a pipe
# this shell holds both ends of, so nothing ever arrives.
exec {tick}<> <(:)
while :; do
  for f in "$X"/cmd/*.sh; do
    [ -e "$f" ] || continue
    id=${f##*/}
    id=${id%.sh}
    mv "$f" "$X/cmd/$id.run" || continue
    bash -c "$(cat "$X/cmd/$id.run")" < /dev/null > "$X/cmd/$id.out" 2> "$X/cmd/$id.err"
    echo $? > "$X/cmd/$id.rc.tmp"
    mv "$X/cmd/$id.rc.tmp" "$X/cmd/$id.rc"
    rm -f "$X/cmd/$id.run"
  done
  read -r -t 0.3 -u "$tick" _ || true
done
