#!/usr/bin/env bash
# Build and run warmer's image with podman, with no registry reachable: the test harness.
#
#   scripts/container.sh install       podman, buildah, runc, debootstrap (as root, when missing)
#   scripts/container.sh check         exit 0 when podman can run here, else print why not
#   scripts/container.sh base          the stand-in for the official python slim image (cached)
#   scripts/container.sh build [TAG]   build ./Dockerfile (default tag localhost/warmer:dev)
#   scripts/container.sh podman ARGS   podman with the harness's configuration and storage
#
# The official base image cannot be pulled here, so `base` builds a stand-in with
# `debootstrap --variant=minbase bookworm` from the Debian mirror apt uses, adds Python 3,
# venv, pip and the headers, and tags it under the official name: the unmodified Dockerfile
# then builds offline. Storage (overlay) lives under $WARMER_PODMAN_DIR (default
# ~/.cache/warmer/podman) and is reused by later runs, base image and build layers alike.
# The system's podman configuration stays untouched: CONTAINERS_CONF points at
# scripts/container/containers.conf, CONTAINERS_STORAGE_CONF at a file under the state dir.
# Idempotent; every step is skipped when its result is already there.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
state="${WARMER_PODMAN_DIR:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/warmer/podman}"
python="${PYTHON:-python3}"

BASE_IMAGE="docker.io/library/python:3.11-slim-bookworm"
# Bump when the stand-in's recipe below changes: a cached stand-in of another recipe is rebuilt.
BASE_RECIPE="1"
BASE_PACKAGES="python3,python3-venv,python3-pip,python3-dev,ca-certificates"
PACKAGES=(podman buildah runc debootstrap)

export CONTAINERS_CONF="$here/container/containers.conf"
export CONTAINERS_STORAGE_CONF="$state/storage.conf"

say() { echo "container.sh: $*" >&2; }

storage_conf() {
  mkdir -p "$state/storage" "$state/run"
  local conf
  conf="$(printf '[storage]\ndriver = "overlay"\ngraphroot = "%s"\nrunroot = "%s"\n' \
    "$state/storage" "$state/run")"
  [ -f "$CONTAINERS_STORAGE_CONF" ] && [ "$(cat "$CONTAINERS_STORAGE_CONF")" = "$conf" ] ||
    printf '%s\n' "$conf" >"$CONTAINERS_STORAGE_CONF"
}

cmd_install() {
  local missing=() pkg
  for pkg in "${PACKAGES[@]}"; do
    command -v "$pkg" >/dev/null 2>&1 || [ -x "/usr/sbin/$pkg" ] || missing+=("$pkg")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    say "missing ${missing[*]} (install them as root; the container tests are skipped)"
    return 0
  fi
  say "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Why podman cannot build and run here, or nothing when it can.
why_not() {
  local pkg
  for pkg in "${PACKAGES[@]}"; do
    command -v "$pkg" >/dev/null 2>&1 || [ -x "/usr/sbin/$pkg" ] ||
      { echo "$pkg is not installed (scripts/container.sh install, as root)"; return; }
  done
  # Rootless podman needs subordinate ids and fuse-overlayfs, which this harness does not set up.
  [ "$(id -u)" = 0 ] || { echo "the podman harness runs as root only"; return; }
  grep -qw overlay /proc/filesystems || { echo "the kernel has no overlay filesystem"; return; }
  storage_conf
  local out
  out="$(podman info --format '{{.Host.OCIRuntime.Name}}' 2>&1)" ||
    { echo "podman info failed: $(tail -n 1 <<<"$out")"; return; }
}

cmd_check() {
  local reason
  reason="$(why_not)"
  [ -z "$reason" ] || { echo "$reason"; exit 1; }
}

# The Debian mirror apt uses on this machine (the stand-in comes from the same place).
apt_mirror() {
  local uri
  uri="$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 'Component: main' 2>/dev/null |
    awk '$2 == "bookworm" { print $1; exit }')"
  echo "${uri:-http://deb.debian.org/debian/}"
}

base_is_current() {
  [ "$(podman image inspect --format '{{index .Labels "warmer.harness.recipe"}}' \
    "$BASE_IMAGE" 2>/dev/null)" = "$BASE_RECIPE" ]
}

cmd_base() {
  cmd_check >/dev/null || { say "$(why_not)"; exit 1; }
  mkdir -p "$state"
  exec 9>"$state/base.lock"
  flock 9  # two test runs at once build it once
  base_is_current && return 0
  local rootfs="$state/rootfs"
  rm -rf "$rootfs"
  say "building the stand-in for $BASE_IMAGE (debootstrap, about a minute)"
  debootstrap --variant=minbase --include="$BASE_PACKAGES" bookworm "$rootfs" "$(apt_mirror)" \
    >"$state/debootstrap.log" 2>&1 || { tail -n 20 "$state/debootstrap.log" >&2; exit 1; }
  slim "$rootfs"
  tar -C "$rootfs" -c . | podman import --quiet \
    --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' \
    --change "LABEL warmer.harness.recipe=$BASE_RECIPE" - "$BASE_IMAGE" >/dev/null
  rm -rf "$rootfs"
}

# What Debian's slim images leave out: package caches, documentation, manuals, locales.
slim() {
  local rootfs="$1"
  chroot "$rootfs" apt-get clean
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* \
    "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/* "$rootfs"/var/log/*.log
  printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-exclude /usr/share/man/*' \
    'path-exclude /usr/share/info/*' 'path-exclude /usr/share/locale/*' \
    >"$rootfs/etc/dpkg/dpkg.cfg.d/slim"
}

cmd_build() {
  local tag="${1:-localhost/warmer:dev}"
  cmd_base
  # The host's pip settings and CA bundle enter the build as secrets, never as a layer.
  local ca secrets
  ca="$("$python" "$here/container/pip_conf.py" "$state")"
  secrets=(--secret "id=pip.conf,src=$state/pip.conf")
  [ -z "$ca" ] || secrets+=(--secret "id=pip-ca.pem,src=$ca")
  local build=(podman build --network host --pull=never --layers "${secrets[@]}" -f "$repo/Dockerfile")
  # The builder stage gets a tag of its own, so the prune below keeps it as the cache of the
  # next build (its dependency layer is the slow one); earlier builds' images go.
  "${build[@]}" --target builder -t localhost/warmer-builder:cache "$repo"
  "${build[@]}" -t "$tag" "$repo"
  podman image prune --force >/dev/null
}

main() {
  local command="${1:-}"
  shift || true
  case "$command" in
    install) cmd_install ;;
    check) cmd_check ;;
    base) cmd_base ;;
    build) cmd_build "$@" ;;
    podman) storage_conf; exec podman "$@" ;;
    *) sed -n '2,8p' "$0" >&2; exit 2 ;;
  esac
}

main "$@"
