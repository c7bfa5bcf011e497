#!/usr/bin/env bash
# demo.sh — the two-minute tour: a controller watching a directory, scenarios applied to it, real
# packets between the containers it creates, and everything removed at the end.
# Run through `make demo` (which installs what is missing and starts a Docker engine).
set -euo pipefail
cd "$(dirname "$0")/.."
fl() { node dist/src/cli/bin.js "$@"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

dir=$(mktemp -d /tmp/faultline-demo.XXXXXX)
cleanup() {
  fl delete echo --dir "$dir" >/dev/null 2>&1 || true
  fl delete bastion --dir "$dir" >/dev/null 2>&1 || true
  if [ -n "${ctl:-}" ]; then
    fl wait echo --for delete --dir "$dir" --timeout 30s >/dev/null 2>&1 || true
    sleep 2   # let the controller finish removing what the deleted scenarios owned
    kill "$ctl" 2>/dev/null || true
    wait "$ctl" 2>/dev/null || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT

say "A controller watches $dir (its log: $dir.log)"
node dist/src/cli/bin.js controller --dir "$dir" >"$dir.log" 2>&1 &   # not via fl(): $! must be node itself
ctl=$!
sleep 1

say "faultline apply -f examples/echo.yaml"
fl apply -f examples/echo.yaml --dir "$dir"
fl wait echo --for condition=Ready --dir "$dir" --timeout 60s
fl get --dir "$dir"

say "The client says Hello world to 'talkto' every 2 s and gets it back"
sleep 3
docker logs --tail 2 echo_client

say "faultline apply -f examples/bastion.yaml: two isolated bridges, c1 on both"
fl apply -f examples/bastion.yaml --dir "$dir"
fl wait bastion --for condition=Ready --dir "$dir" --timeout 60s
printf 'c1 -> c3: '; docker exec bastion_c1 ping -c1 -W2 c3 >/dev/null && echo reachable
printf 'c2 -> c3: '; docker exec bastion_c2 ping -c1 -W2 10.231.2.30 >/dev/null 2>&1 && echo "reachable (unexpected!)" || echo "unreachable, as declared"

say "faultline describe bastion"
fl describe bastion --dir "$dir"

say "The status the controller wrote back into the file (comments and order of the spec kept)"
sed -n '1,12p' "$dir/bastion.yaml"; echo "..."; grep -n '^status:' "$dir/bastion.yaml"

say "faultline delete: the controller removes everything the scenarios own"
fl delete echo --dir "$dir"
fl delete bastion --dir "$dir"
for _ in $(seq 1 50); do
  left=$(docker ps -aq --filter label=faultline.dev/managed-by=faultline --filter label=faultline.dev/scenario=echo; docker ps -aq --filter label=faultline.dev/scenario=bastion)
  [ -z "$left" ] && break
  sleep 0.3
done
echo "owned containers left: $(echo -n "$left" | grep -c . || true)"
say "Timed faults, as a CI job would run them: faultline run -f examples/network-partition.yaml"
echo "(blackhole on the server's port 7 from 2 s to 8 s, then TCP resets from 10 s to 16 s)"
( sleep 4; printf '   client -> server:7 during the blackhole: '; s=$(date +%s%N)
  docker exec network-partition_client sh -c 'echo hi | nc -w 3 server 7' >/dev/null 2>&1 && echo answered || echo "no answer after $(( ($(date +%s%N) - s) / 1000000 )) ms (timed out)"
  sleep 8; printf '   client -> server:7 during the reset:     '; s=$(date +%s%N)
  docker exec network-partition_client sh -c 'echo hi | nc -w 3 server 7' >/dev/null 2>&1 && echo answered || echo "refused after $(( ($(date +%s%N) - s) / 1000000 )) ms (reset)" ) &
probe=$!
fl run -f examples/network-partition.yaml
wait "$probe"
say "Done."
