#!/usr/bin/env bash
# build-helper-image.sh — build the local image faultline/netns-helper:<recipe-hash> (and :latest)
# that the helper-container executor (src/adapters/helper.ts) runs as `faultline-netns-helper`.
#
# Nothing is pulled: the rootfs is assembled from THIS host's binaries and `docker import`ed.
#   tc, ip                      iproute2 (+ /etc/iproute2, tc's .dist tables and modules)
#   iptables{,-save,-restore}   whatever the host's alternatives point at (Debian 12: the nf_tables
#   ip6tables{,-save,-restore}  backend, xtables-nft-multi), the -nft / -legacy names for both multi
#                               binaries, and the xtables extension modules (libxt_*.so)
#   nsenter                     util-linux
#   busybox (static)            only sh/sleep/kill/cat/... for PID 1 and diagnostics; never ip/tc/nsenter
# plus every shared library `ldd` lists for those ELF files and the dynamic loader. The layout is
# merged-/usr (/bin -> usr/bin, ...), so the paths ldd prints resolve inside the image.
#
# PID 1 is a busybox-sh init that sleeps and exits at once on SIGTERM (a bare `sleep` as PID 1
# ignores SIGTERM: PID 1 has no default signal handlers, so `docker stop` would wait its timeout).
#
# Idempotent: the recipe hash covers this script and the content of every file that goes into the
# image (so a package upgrade on the host changes it). When faultline/netns-helper:<hash> exists,
# only the :latest tag is (re)pointed at it. The image reference is printed on stdout.
#
# Missing host tools are installed with apt-get only when running as root on Debian; otherwise the
# script says what to install. Env: HELPER_IMAGE_REPO (default faultline/netns-helper).
set -euo pipefail
export LC_ALL=C
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${PATH:-}"
REPO=${HELPER_IMAGE_REPO:-faultline/netns-helper}
started=$(date +%s%N)
log() { echo "build-helper-image: $*" >&2; }

# ---------------------------------------------------------------- host tools
need_pkgs=()
command -v tc >/dev/null && command -v ip >/dev/null || need_pkgs+=(iproute2)
for t in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
  command -v "$t" >/dev/null || { need_pkgs+=(iptables); break; }
done
command -v nsenter >/dev/null || need_pkgs+=(util-linux)
command -v busybox >/dev/null || need_pkgs+=(busybox-static)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ]; then
    log "installing ${need_pkgs[*]} with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >&2
  else
    log "missing host packages: ${need_pkgs[*]}; install them (as root: apt-get install ${need_pkgs[*]}) and rerun"
    exit 1
  fi
fi

# ---------------------------------------------------------------- the manifest
# Lines "F<TAB>/dest<TAB>/host/src" (a file) and "L<TAB>/dest<TAB>target" (a symlink). Every dest
# is an absolute path inside the image; files keep their real host paths.
manifest=$(mktemp)
root=$(mktemp -d)
trap 'rm -rf "$root" "$manifest"' EXIT
elves=() # ELF files whose libraries ldd must resolve

add_file() { printf 'F\t%s\t%s\n' "$1" "$2" >>"$manifest"; }
add_link() { printf 'L\t%s\t%s\n' "$1" "$2" >>"$manifest"; }
add_elf() { add_file "$1" "$1"; elves+=("$1"); }

# A tool: its real file (behind any alternatives symlinks) at its real path, and /usr/sbin/<name>
# pointing at it when the names differ. Multi-call binaries (xtables-*-multi) pick their mode from
# argv[0], which is the link's name.
add_tool() {
  local name=$1 found real
  found=$(command -v "$name") || { log "tool $name not found"; exit 1; }
  real=$(readlink -f "$found")
  add_elf "$real"
  [ "$(basename "$real")" = "$name" ] || add_link "/usr/sbin/$name" "$real"
}
for t in tc ip nsenter iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
  add_tool "$t"
done
# Both iptables backends, by explicit name, when the host has them (a caller may need the one the
# target's existing rules use).
for backend in nft legacy; do
  multi=$(command -v "xtables-$backend-multi" || true)
  [ -n "$multi" ] || continue
  multi=$(readlink -f "$multi")
  add_elf "$multi"
  for t in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
    add_link "/usr/sbin/${t%%-*}-$backend${t#"${t%%-*}"}" "$multi"
  done
done

# xtables extensions (dlopen()ed by libxtables, so ldd of the binaries does not list them) and
# tc's modules and netem distribution tables, from the directory next to libxtables / libc.
libxtables=$(ldd "$(readlink -f "$(command -v iptables)")" | awk '$1 ~ /^libxtables\.so/ {print $3}')
libdir=$(dirname "$(readlink -f "${libxtables:-/usr/lib/x86_64-linux-gnu/libxtables.so.12}")")
for dir in "$libdir/xtables" "$libdir/tc" /usr/lib/tc /usr/lib64/tc; do
  [ -d "$dir" ] || continue
  dir=$(readlink -f "$dir")
  for f in "$dir"/*; do
    [ -f "$f" ] || continue
    case $f in *.so) add_elf "$f" ;; *) add_file "$f" "$f" ;; esac
  done
done

# busybox for PID 1 and a few diagnostics. Deliberately not ip/tc/nsenter: the real tools win.
busybox=$(readlink -f "$(command -v busybox)")
add_file /usr/bin/busybox "$busybox"
file_is_dynamic() { ldd "$1" >/dev/null 2>&1; }
if file_is_dynamic "$busybox"; then elves+=("$busybox"); fi
for a in sh sleep kill timeout cat true false echo ls readlink env id; do add_link "/usr/bin/$a" busybox; done

# Every library the ELF files need, at the path ldd resolved, plus the loader (PT_INTERP path).
# One ldd for all of them (it prints "file:" before each file's list).
{ ldd "${elves[@]}" 2>/dev/null || true; } | awk '
  /^[^ \t].*:$/ { who = substr($0, 1, length($0) - 1); next }
  $2 == "=>" && $3 == "not" { print "build-helper-image: note: " who " needs " $1 ", not on this host (that module will not load)" > "/dev/stderr"; next }
  $2 == "=>" && $3 ~ /^\// { print $3; next }
  $1 ~ /^\// { print $1 }' | sort -u | while read -r lib; do
  real=$(readlink -f "$lib")
  add_file "$real" "$real"
  [ "$lib" = "$real" ] || add_link "$lib" "$real"
done

# Small data files the tools read (names for protocols, routing tables, services).
for f in /etc/protocols /etc/services /etc/ethertypes; do
  if [ -f "$f" ]; then add_file "$f" "$(readlink -f "$f")"; fi
done
if [ -d /etc/iproute2 ]; then
  while IFS= read -r f; do add_file "$f" "$f"; done < <(find /etc/iproute2 -type f | sort)
fi
if [ -d /usr/share/iproute2 ]; then
  while IFS= read -r f; do add_file "$f" "$f"; done < <(find /usr/share/iproute2 -type f | sort)
fi

sort -u -o "$manifest" "$manifest"

# ---------------------------------------------------------------- recipe hash
recipe_hash=$(
  {
    cat "$0" "$manifest"
    awk -F'\t' '$1 == "F" { print $3 }' "$manifest" | xargs -d '\n' sha256sum | cut -c1-64
  } | sha256sum | cut -c1-16
)
IMAGE="$REPO:$recipe_hash"
have=$(docker image inspect -f '{{index .Config.Labels "faultline.dev/recipe"}}' "$IMAGE" 2>/dev/null || true)
if [ "$have" = "$recipe_hash" ]; then
  docker tag "$IMAGE" "$REPO:latest"
  log "up to date: $IMAGE ($(( ($(date +%s%N) - started) / 1000000 )) ms)"
  echo "$IMAGE"
  exit 0
fi

# ---------------------------------------------------------------- assemble
mkdir -p "$root"/usr/{bin,sbin,lib,lib64} "$root"/{etc,proc,sys,dev,run,tmp,root}
ln -s usr/bin "$root/bin"
ln -s usr/sbin "$root/sbin"
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"
chmod 1777 "$root/tmp"
while IFS=$'\t' read -r kind dest src; do
  mkdir -p "$root$(dirname "$dest")"
  if [ "$kind" = F ]; then
    cp -L --preserve=mode "$src" "$root$dest"
  elif [ ! -e "$root$dest" ] && [ ! -L "$root$dest" ]; then
    ln -s "$src" "$root$dest"
  fi
done <"$manifest"

mkdir -p "$root/usr/local/sbin"
cat >"$root/usr/local/sbin/faultline-init" <<'INIT'
#!/bin/sh
# PID 1 of the netns helper: idle until SIGTERM/SIGINT, then exit at once. All work arrives by
# `docker exec`.
trap 'exit 0' TERM INT
while :; do
  sleep 2147483647 &
  wait $!
done
INIT
chmod 755 "$root/usr/local/sbin/faultline-init"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"

# Smoke test in the rootfs before it becomes an image: every tool must start (needs chroot: root).
if [ "$(id -u)" = 0 ]; then
  # By full path: busybox prefers its own applets (it has ip, tc and nsenter) over PATH.
  for t in tc ip nsenter iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
    p=/usr/sbin/$t
    [ -e "$root$p" ] || p=/usr/bin/$t
    if ! out=$(chroot "$root" "$p" -V 2>&1); then
      log "smoke test failed: $p does not start inside the assembled rootfs: $out"
      exit 1
    fi
    case $out in *BusyBox*) log "smoke test failed: $p is busybox"; exit 1 ;; esac
  done
fi

tar -C "$root" --numeric-owner --owner=0 --group=0 -c . | docker import \
  -c 'ENTRYPOINT ["/usr/local/sbin/faultline-init"]' \
  -c 'ENV PATH=/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C' \
  -c "LABEL faultline.dev/recipe=$recipe_hash" \
  -c 'LABEL org.opencontainers.image.title=faultline-netns-helper' \
  -m "faultline netns helper from host binaries (recipe $recipe_hash)" \
  - "$IMAGE" >/dev/null
docker tag "$IMAGE" "$REPO:latest"
# Older recipes of this image go; one still used by a (helper) container stays (rmi refuses).
docker image ls --format '{{.Repository}}:{{.Tag}}' "$REPO" | while read -r old; do
  case $old in "$IMAGE" | "$REPO:latest" | *"<none>"*) ;; *) docker rmi "$old" >/dev/null 2>&1 || true ;; esac
done
size=$(docker image inspect -f '{{.Size}}' "$IMAGE")
log "built $IMAGE ($((size / 1024)) KiB) in $(( ($(date +%s%N) - started) / 1000000 )) ms; iptables is $(readlink -f "$(command -v iptables)" | xargs basename)"
echo "$IMAGE"
