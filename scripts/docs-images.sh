#!/usr/bin/env bash
# Draw the README's pictures again (docs/images/MANIFEST: a file and the faultline command for it).
# Needs a build (make build). test/unit/cli/docs-images.test.ts compares them with what is committed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
grep -v '^#' docs/images/MANIFEST | while read -r file args; do
  [ -n "$file" ] || continue
  # shellcheck disable=SC2086 # the arguments are words, on purpose
  node dist/src/cli/bin.js $args > "docs/images/$file"
  echo "docs/images/$file"
done
