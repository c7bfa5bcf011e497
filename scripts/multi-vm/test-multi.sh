#!/usr/bin/env bash
# test-multi.sh — `make multi`: the tests of one scenario across two Docker engines
# (dist/test/multi/, compiled by `make build`) against the two QEMU guests of multi-vm.sh, booted
# here in parallel and powered off at the end whatever happens. Exit code = the tests'. A test bed
# that cannot come up FAILS (exit 125): a machine that cannot run these tests must not report them
# as passed.
#
#   scripts/multi-vm/test-multi.sh [test paths...]     (default: dist/test/multi/)
#
# Environment: MULTI_STATE (state directory, default a fresh mktemp), MULTI_KEEP=1 (leave the
# guests up for debugging; `multi-vm.sh down STATE` powers them off), and multi-vm.sh's own.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
STATE=${MULTI_STATE:-$(mktemp -d /tmp/faultline-multi-XXXXXX)}
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(dist/test/multi/)
T0=$(date +%s)
down() { [ "${MULTI_KEEP:-}" = 1 ] || "$here/multi-vm.sh" down "$STATE" >/dev/null 2>&1 || true; }
trap down EXIT
echo "[multi] test bed in $STATE"
# What the bed needs on the host, installed here when missing (a fresh machine; `make test` runs
# this after the netem suite, which installs QEMU and fetches the guest kernel).
need=()
for c in openssl:openssl ss:iproute2 docker:docker.io dockerd:docker.io qemu-system-x86_64:qemu-system-x86 \
         busybox:busybox-static; do
  command -v "${c%%:*}" >/dev/null 2>&1 || need+=("${c#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "[multi] installing ${need[*]} (apt-get, --no-install-recommends)"
    export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
    apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null; } \
      || { echo "[multi] FAILED: apt-get install ${need[*]}" >&2; exit 125; }
  else
    echo "[multi] FAILED: missing on the host: ${need[*]}" >&2
    exit 125
  fi
fi
if ! "$here/multi-vm.sh" up "$STATE"; then
  echo "[multi] FAILED: the two guests did not come up (see $STATE/a, $STATE/b)" >&2
  exit 125
fi
# shellcheck disable=SC1091
source "$STATE/env"
export MULTI_TEST_LOG=$STATE/controller.log
rc=0
node --test --test-concurrency=1 ${NODE_TEST_FLAGS:-} "${tests[@]}" || rc=$?
echo "[multi] tests exit $rc after $(( $(date +%s) - T0 )) s in all (controller log: $MULTI_TEST_LOG)"
exit $rc
