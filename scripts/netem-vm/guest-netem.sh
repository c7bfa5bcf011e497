#!/usr/bin/env bash
# guest-netem.sh — runs INSIDE the QEMU guest (started by test-netem.sh through run-in-vm.sh):
# a private dockerd on fresh tmpfs, the faultline/testbox image, then the compiled netem tests.
#   usage: guest-netem.sh OUT_DIR [node --test args...]
# OUT_DIR is shared read-write with the host (run-in-vm.sh -w): phase timings, dockerd log, TAP.
# Exit code: the test run's; 3 = dockerd never answered; 4 = testbox image build failed.
set -uo pipefail
OUT=${1:?usage: guest-netem.sh OUT_DIR [test paths...]}
shift
[ $# -gt 0 ] || set -- dist/test/netem/
[ "${NETEM_VM:-}" = 1 ] || { echo "guest-netem: refusing to run outside the netem guest (NETEM_VM!=1)" >&2; exit 2; }

up() { cut -d' ' -f1 /proc/uptime; }
T_PREV=0   # the first phase, "guest boot", runs from power-on to this script
phase() { # phase NAME: closes the previous phase; prints guest uptime and its duration
  local now took; now=$(up); took=$(awk "BEGIN{printf \"%.1f\", $now - $T_PREV}")
  printf '[netem-vm guest] %-28s done at uptime %6.1fs (took %5.1fs)\n' "$1" "$now" "$took"
  printf '%s\t%s\t%s\n' "$1" "$now" "$took" >> "$OUT/guest-phases.txt"
  T_PREV=$now
}
: > "$OUT/guest-phases.txt"
phase "guest boot"
echo "[netem-vm guest] kernel $(uname -r), $(nproc) vCPU, $(awk '/MemTotal/{printf "%d MiB", $2/1024}' /proc/meminfo), netem: $(grep -qw sch_netem /proc/modules && echo loaded || echo MISSING)"

# ---- private Docker engine (the host's engine is not visible: /run and /var/lib/docker are tmpfs)
export DOCKER_HOST=unix:///run/docker.sock
dockerd --host "$DOCKER_HOST" --data-root /var/lib/docker --exec-root /run/docker-exec \
  --pidfile /run/dockerd.pid --storage-driver overlay2 --log-level warn \
  > "$OUT/dockerd.log" 2>&1 &
ready=0
for _ in $(seq 1 600); do   # up to 120 s
  if docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then ready=1; break; fi
  kill -0 $! 2>/dev/null || break
  sleep 0.2
done
if [ $ready != 1 ]; then
  echo "[netem-vm guest] FAIL: dockerd did not answer; last lines of its log:" >&2
  tail -30 "$OUT/dockerd.log" >&2
  exit 3
fi
phase "dockerd ready"
echo "[netem-vm guest] engine $(docker version --format 'server {{.Server.Version}} / client {{.Client.Version}}')"

# ---- the test image, exactly as the host build does it
if ! ./scripts/build-testbox.sh; then
  echo "[netem-vm guest] FAIL: scripts/build-testbox.sh failed" >&2
  exit 4
fi
phase "testbox image built"

# ---- the tests (compiled JS; the checkout is read-only here, reports go to OUT)
# They get the guest's budget less 90 s (test-netem.sh writes it to OUT/test-budget): a test that
# hangs is stopped here, and what was stuck is printed, instead of the whole guest being killed
# with nothing said. The controllers the tests start log at debug level to OUT/controller.log.
# --test-force-exit: a teardown left to the guest's end (teardown() in test/netem/lib.ts) must not keep
# its test file running until its docker command times out.
budget=$(cat "$OUT/test-budget" 2>/dev/null || echo 810)
echo "[netem-vm guest] node --test $* (budget ${budget}s)"
FAULTLINE_NETEM_REQUIRED=1 FAULTLINE_TEST_LOGFILE="$OUT/controller.log" \
  timeout -k 10 "$budget" node --test --test-concurrency=1 --test-force-exit \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$OUT/netem.tap" \
  "$@"
rc=$?
phase "node --test (rc=$rc)"
if [ $rc = 124 ] || [ $rc = 137 ]; then
  # Also kept in OUT/hang.txt, which test-netem.sh prints last (only a log's tail may be read).
  {
    echo "[netem-vm guest] the tests did not finish within ${budget}s; still running were (pid, seconds, argv):"
    ps -eo pid,etimes,args --sort=start_time | awk 'NR > 1 && /node|nsenter|iptables|tc |ip |docker |ping|nc /' \
      | grep -v -e ' awk ' -e dockerd -e containerd | cut -c1-160 | tail -12
    echo "[netem-vm guest] containers: $(docker ps -a --format '{{.Names}}={{.Status}}' | tr '\n' ' ')"
    echo "[netem-vm guest] last lines of the controllers' log (OUT/controller.log):"
    tail -5 "$OUT/controller.log" 2>/dev/null | cut -c1-300
  } | tee "$OUT/hang.txt"
fi
if [ $rc != 0 ]; then
  echo "[netem-vm guest] leftover containers:"; docker ps -a --format '  {{.Names}} {{.Status}}'
  echo "[netem-vm guest] dockerd log tail:"; tail -15 "$OUT/dockerd.log"
fi
exit $rc
