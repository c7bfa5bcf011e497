#!/usr/bin/env bash
# build-image.sh — build faultline/controller on this machine without pulling anything: the image
# manifests/Dockerfile builds where a registry is reachable, assembled from the same parts.
#
#   base      Debian bookworm, variant minbase, from the Debian mirror apt uses here (debootstrap;
#             minbase is what debian:bookworm-slim is made of), plus the Dockerfile's PACKAGES and
#             this host's Node at /usr/local/bin/node (where the node images keep it). Docs, man
#             pages, locales and apt lists removed, as the slim images do. Imported once per recipe
#             as faultline/controller-base:<recipe hash> (the recipe: this script, PACKAGES, the
#             Node binary).
#   app       scripts/stage-app.sh: the npm package of this tree with its production dependencies,
#             as the Dockerfile's build stage makes it. The tree must be built (make build).
#   settings  every line of the Dockerfile under its "settings" marker (WORKDIR, ENV, ENTRYPOINT,
#             CMD, …), so both images start the same way.
#
# The final image is a `docker build` FROM the local base (nothing to pull): COPY the app, then the
# settings. Tagged faultline/controller:latest and :<package version>; the image id on stdout.
# Root on Debian: installs debootstrap when missing. Env: DEBIAN_MIRROR, CONTROLLER_IMAGE_REPO.
set -euo pipefail
export LC_ALL=C
here=$(cd "$(dirname "$0")/.." && pwd)
REPO=${CONTROLLER_IMAGE_REPO:-faultline/controller}
BASE_REPO=${REPO}-base
dockerfile=$here/manifests/Dockerfile
started=$(date +%s%N)
log() { echo "build-image: $*" >&2; }
ms() { echo $(( ($(date +%s%N) - started) / 1000000 )); }

# ---------------------------------------------------------------- what the Dockerfile says
packages=$(sed -n 's/^ARG PACKAGES="\(.*\)"$/\1/p' "$dockerfile")
[ -n "$packages" ] || { log "no ARG PACKAGES=\"...\" line in $dockerfile"; exit 1; }
settings=$(sed -n '/^# ---- settings/,$p' "$dockerfile" | tail -n +2)
grep -q '^ENTRYPOINT ' <<<"$settings" || { log "no ENTRYPOINT under the settings marker of $dockerfile"; exit 1; }
node_bin=$(readlink -f "$(command -v node)")
case $("$node_bin" --version) in v20.*) ;; *) log "the local Node is $("$node_bin" --version); the image is made with Node 20"; exit 1 ;; esac

# ---------------------------------------------------------------- base: Debian minbase + packages + Node
# The recipe: this section of the script, the packages, the Node binary (a change to the app part
# below does not bootstrap Debian again).
recipe=$( { sed -n '/^# -* base:/,/^# -* app + settings/p' "$0"; echo "$packages"; sha256sum "$node_bin"; } | sha256sum | cut -c1-16)
BASE=$BASE_REPO:$recipe
if docker image inspect "$BASE" >/dev/null 2>&1; then
  log "base up to date: $BASE"
else
  if ! command -v debootstrap >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      log "installing debootstrap with apt-get"
      DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >&2
    else
      log "debootstrap is missing; install it (as root: apt-get install debootstrap) and rerun"; exit 1
    fi
  fi
  [ "$(id -u)" = 0 ] || { log "debootstrap needs root"; exit 1; }
  mirror=${DEBIAN_MIRROR:-$(sed -n 's/^URIs: *\(http[^ ]*\/debian\)\/* *$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)}
  mirror=${mirror:-http://deb.debian.org/debian}
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  log "debootstrap bookworm (minbase + ${packages// /,}) from $mirror"
  debootstrap --variant=minbase --include="${packages// /,}" bookworm "$root" "$mirror" >"$root.log" 2>&1 \
    || { tail -20 "$root.log" >&2; rm -f "$root.log"; exit 1; }
  rm -f "$root.log"
  install -m 755 "$node_bin" "$root/usr/local/bin/node"
  # As the slim images: no docs, man pages, locales, package lists or downloaded packages.
  rm -rf "$root"/usr/share/{doc,man,info,locale}/* "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* \
    "$root"/var/cache/debconf/*-old "$root"/var/log/*.log "$root"/etc/hostname
  : >"$root/etc/resolv.conf"
  chroot "$root" /usr/local/bin/node --version >/dev/null || { log "node does not start in the base rootfs"; exit 1; }
  chroot "$root" sh -c 'command -v tc && command -v nsenter && command -v iptables' >/dev/null \
    || { log "tc, nsenter or iptables missing in the base rootfs"; exit 1; }
  tar -C "$root" --numeric-owner -c . | docker import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c "LABEL faultline.dev/recipe=$recipe" \
    -m "Debian bookworm minbase + $packages + node $("$node_bin" --version)" \
    - "$BASE" >/dev/null
  rm -rf "$root"
  trap - EXIT
  log "built $BASE ($(( $(docker image inspect -f '{{.Size}}' "$BASE") / 1048576 )) MiB) in $(ms) ms"
  # Older recipes go; one still in use stays (rmi refuses).
  docker image ls --format '{{.Repository}}:{{.Tag}}' "$BASE_REPO" | while read -r old; do
    [ "$old" = "$BASE" ] || docker rmi "$old" >/dev/null 2>&1 || true
  done
fi

# ---------------------------------------------------------------- app + settings
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
"$here/scripts/stage-app.sh" "$ctx/faultline" >/dev/null
version=$(node -p 'require(process.argv[1]).version' "$ctx/faultline/package.json")
{
  echo "FROM $BASE"
  echo "COPY faultline /opt/faultline"
  echo "$settings"
} >"$ctx/Dockerfile"
old=$(docker image inspect -f '{{.Id}}' "$REPO:latest" 2>/dev/null || true)
# The classic builder: it takes FROM a local image as it is. (Its deprecation notice is noise here;
# its output is shown when it fails.)
if ! id=$(DOCKER_BUILDKIT=0 docker build -q -t "$REPO:latest" -t "$REPO:$version" "$ctx" 2>"$ctx/build.log"); then
  cat "$ctx/build.log" >&2
  exit 1
fi
if [ -n "$old" ] && [ "$old" != "$id" ]; then docker rmi "$old" >/dev/null 2>&1 || true; fi
log "built $REPO:latest and $REPO:$version ($(( $(docker image inspect -f '{{.Size}}' "$id") / 1048576 )) MiB) in $(ms) ms"
echo "$id"
