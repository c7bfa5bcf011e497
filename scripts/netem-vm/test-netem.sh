#!/usr/bin/env bash
# test-netem.sh — `make netem`: run the netem tests (dist/test/netem/, compiled by `make build`)
# inside a throw-away QEMU guest whose kernel has sch_netem, with a private dockerd in it.
#
#   scripts/netem-vm/test-netem.sh [test paths...]     (default: dist/test/netem/)
#
# Phases (each is timed and printed): guest tooling (apt packages + kernel, cached in
# ~/.cache/netem-vm), guest boot, dockerd ready, testbox image, node --test. Exit code = the
# tests'. If the guest cannot boot or times out (run-in-vm.sh exit 125), this FAILS loudly: a
# machine that cannot run the netem tests must not report them as passed.
#
# Environment: NETEM_VM_TIMEOUT (guest wall-clock limit, default 1200 s; the tests get 90 s less), NETEM_VM_MEM (MiB,
# default 2048), NETEM_VM_CPUS (default nproc), NETEM_OUT (reports dir, default
# dist/netem-vm/<time>-<pid>/: guest-phases.txt, dockerd.log, netem.tap).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"

T0=$(date +%s.%N)
T_PREV=$T0
SUMMARY=()
now() { date +%s.%N; }
phase() { # phase NAME: closes the host-side phase NAME
  local t; t=$(now)
  local d; d=$(awk "BEGIN{printf \"%.1f\", $t - $T_PREV}")
  printf '[netem] %-32s %6.1fs\n' "$1" "$d"
  SUMMARY+=("$(printf '%-32s %6.1fs' "$1" "$d")")
  T_PREV=$t
}
banner() { printf '\n[netem] ==== %s ====\n' "$*"; }
fail() { # fail RC MESSAGE...
  local rc=$1; shift
  printf '\n[netem] ############################################################\n' >&2
  printf '[netem] FAILED: %s\n' "$*" >&2
  printf '[netem] ############################################################\n' >&2
  exit "$rc"
}

tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(dist/test/netem/)
for t in "${tests[@]}"; do
  [ -e "$t" ] || fail 2 "$t does not exist: build first (make build / npx tsc -p tsconfig.json)"
done
if [ -z "$(find "${tests[@]}" -name '*.test.js' -print -quit 2>/dev/null)" ]; then
  fail 2 "no compiled *.test.js under ${tests[*]}: build first (make build)"
fi

# One directory per run (several people may run this in the same checkout at once); the guest
# writes into it through run-in-vm.sh -w. The 5 newest runs are kept.
OUT=${NETEM_OUT:-$root/dist/netem-vm/$(date +%Y%m%dT%H%M%S)-$$}
mkdir -p "$OUT"
if [ -z "${NETEM_OUT:-}" ]; then
  { ls -1d "$root"/dist/netem-vm/*-* 2>/dev/null || true; } | sort | head -n -5 | xargs -r rm -rf
fi

banner "netem tests in a QEMU guest: ${tests[*]}"
echo "[netem] host: kernel $(uname -r), $(nproc) CPU; reports: $OUT"

# ---- 1. guest tooling (idempotent; one-time apt install + kernel download)
# The guest runs the HOST's binaries (9p root): it needs a Docker engine's binaries here even
# though the host's engine is never used (and never started or stopped) by this script.
command -v node >/dev/null || fail 1 "node (>= 20) is not installed on the host"
need=()
for c in dockerd:docker.io docker:docker.io containerd:containerd runc:runc iptables:iptables \
         tc:iproute2 nsenter:util-linux; do
  command -v "${c%%:*}" >/dev/null 2>&1 || need+=("${c#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
  { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; } \
    || fail 1 "missing on the host (the guest uses the host's binaries): ${need[*]}"
  echo "[netem] installing ${need[*]} (apt-get, --no-install-recommends)"
  export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
  apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null; } \
    || fail 1 "apt-get install ${need[*]} failed"
fi
"$here/run-in-vm.sh" -S || fail 1 "could not prepare the QEMU guest tooling (see run-in-vm messages above)"
phase "guest tooling ready"

# ---- 2. boot the guest and run the tests inside
set +e
VM_TIMEOUT=${NETEM_VM_TIMEOUT:-1200}
echo $((VM_TIMEOUT - 90)) > "$OUT/test-budget"   # the tests' own limit in the guest (guest-netem.sh)
"$here/run-in-vm.sh" -t "$VM_TIMEOUT" -w "$OUT" -- "$here/guest-netem.sh" "$OUT" "${tests[@]}"
rc=$?
set -e
phase "guest run (boot+dockerd+tests)"

# guest-side phase timings (guest uptime clock), written through the shared dir
if [ -s "$OUT/guest-phases.txt" ]; then
  while IFS=$'\t' read -r name _ took; do
    SUMMARY+=("$(printf '  in guest: %-22s %6.1fs' "$name" "$took")")
  done < "$OUT/guest-phases.txt"
fi
total=$(awk "BEGIN{printf \"%.1f\", $(now) - $T0}")
banner "summary"
printf '[netem] %s\n' "${SUMMARY[@]}"
printf '[netem] %-32s %6.1fs\n' "total" "$total"
[ -s "$OUT/netem.tap" ] && echo "[netem] TAP report: $OUT/netem.tap"

[ -s "$OUT/hang.txt" ] && { echo; cat "$OUT/hang.txt"; }

case $rc in
  0) echo "[netem] PASSED (${tests[*]}, inside the netem guest)" ;;
  125) fail 125 "the QEMU guest did not boot or did not finish within ${VM_TIMEOUT}s" \
         "(run-in-vm.sh exit 125); the netem tests did NOT run" ;;
  3) fail 3 "dockerd did not start inside the guest (log: $OUT/dockerd.log)" ;;
  4) fail 4 "building faultline/testbox inside the guest failed" ;;
  *) fail "$rc" "netem tests failed inside the guest (exit $rc)" ;;
esac
