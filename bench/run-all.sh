#!/usr/bin/env bash
# Every figure quoted in the issues, one after another (they need the machine to themselves).
set -euo pipefail
cd "$(dirname "$0")/.."
node dist/bench/converge.js 5
node dist/bench/idle.js 50 60
node dist/bench/partition.js 30 100
node dist/bench/lateness.js 200 20
