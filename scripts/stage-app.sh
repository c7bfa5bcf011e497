#!/usr/bin/env sh
# stage-app.sh DEST — install this tree's npm package, as `npm pack` makes it, into DEST with its
# production dependencies (optional ones included: koffi gives the store its leases).
# The controller image runs exactly this: manifests/Dockerfile's build stage calls it, and so does
# scripts/build-image.sh, so image and package carry the same files (package.json "files").
# Needs a built tree (make build, or tsc in the Dockerfile) and npm with a registry or its cache.
set -eu
dest=${1:?usage: stage-app.sh DEST}
here=$(cd "$(dirname "$0")/.." && pwd)
[ -f "$here/dist/src/cli/bin.js" ] || { echo "stage-app: $here/dist/src is not built; run make build" >&2; exit 1; }
[ ! -e "$dest" ] || [ -z "$(ls -A "$dest")" ] || { echo "stage-app: $dest is not empty" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# --ignore-scripts: prepack would compile again; the caller built the tree.
tarball=$(cd "$here" && npm pack --ignore-scripts --silent --pack-destination "$tmp" | tail -n 1)
mkdir -p "$dest"
tar -xzf "$tmp/$tarball" -C "$dest" --strip-components=1 --no-same-owner
cp "$here/package-lock.json" "$dest/"
(cd "$dest" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)
rm "$dest/package-lock.json"
echo "stage-app: $(cd "$dest" && node -p 'require("./package.json").name + "@" + require("./package.json").version') in $dest" >&2
