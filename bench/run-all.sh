#!/usr/bin/env bash
# Every figure quoted in the issues, one benchmark after another (they need the machine to
# themselves), then one table: each figure as measured in the kernel, next to the kernel floor
# measured in the same run and the goal. Each bench prints "RESULT {json}" lines (bench/lib/kernel.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp)
trap 'rm -f "$out"' EXIT
run() { echo "== node dist/bench/$*" >&2; node "dist/bench/$@" | tee -a "$out" | grep -v '^RESULT ' >&2; }
run partition.js 30 100
run lateness.js 200 20
run idle.js 100 60
run converge.js 5
echo '== bench/hostpath-gap.sh 12' >&2
./bench/hostpath-gap.sh 12 | tee -a "$out" | grep -v '^RESULT ' >&2
node -e '
const rows = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter((l) => l.startsWith("RESULT ")).map((l) => JSON.parse(l.slice(7)));
const fmt = (v, u) => (typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(1)) : String(v)) + (u ? " " + u : "");
const table = [["figure", "measured", "floor", "ratio", "goal"], ...rows.map((r) => [r.figure, fmt(r.value, r.unit), r.floor === undefined ? "" : fmt(r.floor, r.unit), r.floor ? (r.value / r.floor).toFixed(1) + "x" : "", r.goal ?? ""])];
const w = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
console.log("\n" + table.map((r) => r.map((c, i) => c.padEnd(w[i])).join("  ")).join("\n"));
' "$out"
