#!/usr/bin/env bash
# Why the host path hangs from mangle FORWARD and not from DOCKER-USER, measured with packets and
# no faultline at all: container a pings container b every 5 ms for 10 s while N networks are
# created and removed, with b cut off by one DROP rule hung from
#   none            (no cut: the control — the flood is answered)
#   DOCKER-USER     (filter; Docker deletes and re-inserts FORWARD's jump to it on every create)
#   mangle FORWARD  (Docker never touches mangle)
# and counts the pings b answered. Usage: bench/hostpath-gap.sh [N=12]. Needs the engine and the
# local image faultline/testbox (make engine). Prints a table and "RESULT {json}" lines.
set -euo pipefail
N=${1:-12}
[ "$N" -le 55 ] || { echo "at most 55 networks (10.219.100-254 for the churn)" >&2; exit 2; }
IMG=${IMG:-faultline/testbox}
p=flgap$$
CHAIN=FLBENCH-GAP-$$
third=$(( RANDOM % 100 )) # the cut's network 10.219.<third>; the churn's 10.219.<100 + third + i>
cleanup() {
  iptables -D DOCKER-USER -j "$CHAIN" 2>/dev/null || true
  iptables -t mangle -D FORWARD -j "$CHAIN" 2>/dev/null || true
  for t in filter mangle; do iptables -t $t -F "$CHAIN" 2>/dev/null || true; iptables -t $t -X "$CHAIN" 2>/dev/null || true; done
  docker rm -f $p-a $p-b >/dev/null 2>&1 || true
  for i in $(seq 0 $((N - 1))); do docker network rm $p-churn$i >/dev/null 2>&1 || true; done
  docker network rm $p-net >/dev/null 2>&1 || true
}
trap cleanup EXIT
docker network create --subnet 10.219.$third.0/24 $p-net >/dev/null
docker run -d --name $p-a --network $p-net "$IMG" sleep 600 >/dev/null
docker run -d --name $p-b --network $p-net "$IMG" sleep 600 >/dev/null
ipb=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' $p-b)
# b's bridge port: the host interface whose index is b's eth0 peer.
idx=$(docker exec $p-b cat /sys/class/net/eth0/iflink)
vb=$(ip -o link | awk -F': ' -v i="$idx" '$1 == i { sub(/@.*/, "", $2); print $2 }')
[ -n "$vb" ] || { echo "cannot find b's bridge port" >&2; exit 1; }

measure() { # $1: hook
  local hook=$1 made=0 out
  case $hook in
    DOCKER-USER) iptables -N "$CHAIN"; iptables -A "$CHAIN" -m physdev --physdev-out "$vb" -j DROP; iptables -I DOCKER-USER 1 -j "$CHAIN" ;;
    mangle) iptables -t mangle -N "$CHAIN"; iptables -t mangle -A "$CHAIN" -m physdev --physdev-out "$vb" -j DROP; iptables -t mangle -I FORWARD 1 -j "$CHAIN" ;;
  esac
  docker exec $p-a ping -q -i 0.005 -w 10 "$ipb" > /tmp/$p.ping 2>&1 &
  local pid=$!
  sleep 0.5
  for i in $(seq 0 $((N - 1))); do
    docker network create --subnet 10.219.$((100 + third + i)).0/24 $p-churn$i >/dev/null && made=$((made + 1))
    docker network rm $p-churn$i >/dev/null
  done
  wait $pid || true
  out=$(grep -oE '[0-9]+ packets transmitted, [0-9]+ packets received' /tmp/$p.ping)
  rm -f /tmp/$p.ping
  case $hook in
    DOCKER-USER) iptables -D DOCKER-USER -j "$CHAIN"; iptables -F "$CHAIN"; iptables -X "$CHAIN" ;;
    mangle) iptables -t mangle -D FORWARD -j "$CHAIN"; iptables -t mangle -F "$CHAIN"; iptables -t mangle -X "$CHAIN" ;;
  esac
  local sent=${out%% packets transmitted*} got
  got=${out#*, }; got=${got%% packets received}
  printf '%-16s %6s %9s %9s\n' "$hook" "$made" "$sent" "$got"
  echo "RESULT {\"figure\":\"pings answered across a cut while $made networks were created (hook: $hook)\",\"value\":$got,\"unit\":\"of $sent\",\"goal\":\"$([ "$hook" = none ] && echo "all (control)" || echo 0)\"}" >> /tmp/$p.results
}
printf '%-16s %6s %9s %9s\n' hook networks sent answered
for hook in none DOCKER-USER mangle; do measure $hook; done
cat /tmp/$p.results; rm -f /tmp/$p.results
