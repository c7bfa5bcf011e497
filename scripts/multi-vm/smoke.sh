#!/usr/bin/env bash
# smoke.sh — proves the multi-vm test bed by packets, with the Docker CLI only (no faultline):
# an attachable overlay network created on the manager (guest a) spans both engines, a container on
# each joins it, and cross-host ping, nc and the embedded DNS work between them. Cleans up after
# itself; leaves the guests running.
#
#   smoke.sh STATE_DIR        (after `multi-vm.sh up STATE_DIR`)
#
# Swarm gives a node 20 s (moby's swarmRequestTimeout, not configurable) to instantiate a network
# the first time a container on it attaches: creating the load-balancer sandbox, the VXLAN device
# and a dozen iptables checks. Under software emulation on a busy machine that can take longer, so
# a timed-out attach is tried again (each try starts from nothing: the node leaves the network
# after a failed attach). Every try and its time are printed.
set -euo pipefail
STATE=$(cd "${1:?usage: smoke.sh STATE_DIR}" && pwd)
export DOCKER_CONFIG=$STATE/docker-config
NET=fl-smoke-ov
SUBNET=10.231.250.0/24
dk() { local g=$1; shift; docker --context "fl-$g" "$@"; }
now() { date +%s.%N; }
took() { awk "BEGIN{printf \"%.1f\", $(now) - $1}"; }
step() { echo "smoke: $*" >&2; }
fail() { echo "smoke: FAILED: $*" >&2; exit 1; }
cleanup() {
  dk a rm -f fl-smoke-a >/dev/null 2>&1 || true
  dk b rm -f fl-smoke-b >/dev/null 2>&1 || true
  dk a network rm "$NET" >/dev/null 2>&1 || true
}
trap cleanup EXIT
cleanup

t=$(now)
dk a network create --driver overlay --attachable --subnet "$SUBNET" --label faultline.dev/test=smoke "$NET" >/dev/null
step "overlay $NET created on the manager (a) in $(took "$t")s: $(dk a network inspect "$NET" -f '{{.Scope}} {{.Driver}} attachable={{.Attachable}}')"

# run_on G NAME: a test container on the overlay, retried while swarm's attach deadline expires.
run_on() {
  local g=$1 name=$2 try t0 out
  for try in 1 2 3 4; do
    t0=$(now)
    if out=$(dk "$g" run -d --name "$name" --hostname "$name" --network "$NET" faultline/testbox 2>&1); then
      step "container $name on engine $g joined $NET in $(took "$t0")s (try $try)"
      return 0
    fi
    step "container $name on engine $g: try $try failed after $(took "$t0")s: ${out##*: }"
    dk "$g" rm -f "$name" >/dev/null 2>&1 || true
  done
  fail "container $name could not join $NET on engine $g"
}
run_on a fl-smoke-a &
pa=$!
run_on b fl-smoke-b &
pb=$!
wait $pa || fail "engine a"
wait $pb || fail "engine b"

ip_on() { dk "$1" inspect "$2" -f "{{(index .NetworkSettings.Networks \"$NET\").IPAddress}}"; }
IPA=$(ip_on a fl-smoke-a)
IPB=$(ip_on b fl-smoke-b)
step "addresses: fl-smoke-a $IPA (guest a), fl-smoke-b $IPB (guest b)"
[ -n "$IPA" ] && [ -n "$IPB" ] || fail "no overlay address"

t=$(now)
dk a exec fl-smoke-a ping -c 3 -W 3 "$IPB" >/dev/null || fail "ping a -> b ($IPB) across hosts"
dk b exec fl-smoke-b ping -c 3 -W 3 "$IPA" >/dev/null || fail "ping b -> a ($IPA) across hosts"
step "ping a -> b and b -> a across hosts: 3/3 each ($(took "$t")s)"

dk b exec -d fl-smoke-b nc -ll -p 7000 -e echo hello-from-b
dk a exec -d fl-smoke-a nc -ll -p 7000 -e echo hello-from-a
got=
for _ in 1 2 3 4 5; do
  got=$(dk a exec fl-smoke-a sh -c "echo | nc -w 3 $IPB 7000" 2>/dev/null || true)
  [ "$got" = hello-from-b ] && break
  sleep 1
done
[ "$got" = hello-from-b ] || fail "nc a -> b:7000 answered '$got'"
got=$(dk b exec fl-smoke-b sh -c "echo | nc -w 3 fl-smoke-a 7000" 2>/dev/null || true)
[ "$got" = hello-from-a ] || fail "nc b -> fl-smoke-a:7000 (by name, Docker's DNS) answered '$got'"
step "nc a -> b:7000 by address and b -> a:7000 by name (embedded DNS): both answered"
echo "smoke: PASSED (overlay $NET across guests a and b: ping, nc, DNS)"
