#!/usr/bin/env bash
# Builds the fathom container image (Containerfile) with podman, without any registry:
#   1. the Debian 12 base image is made with debootstrap from a Debian mirror and imported as
#      localhost/fathom-base:bookworm (once; kept for later builds),
#   2. `podman build` runs the Containerfile's build and runtime stages on it.
#
# usage: scripts/build-image.sh [--tag IMAGE] [--jobs N] [--rebuild-base]
#   --tag           default localhost/fathom:<project version> (also tagged :latest)
#   --jobs          compile jobs inside the build stage (default: nproc)
#   --rebuild-base  debootstrap the base again even if it exists
# env: DEBIAN_MIRROR (default http://deb.debian.org/debian), FATHOM_PODMAN_FLAGS (see
#      scripts/podman-env.sh). Needs root (debootstrap, podman import) on this kind of VM.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/podman-env.sh

version=$(sed -n 's/^project(fathom .*VERSION \([0-9.]*\)).*/\1/p' CMakeLists.txt)
tag="localhost/fathom:${version}"
jobs=$(nproc)
rebuild_base=0
while (($#)); do
  case "$1" in
    --tag) tag="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --rebuild-base) rebuild_base=1; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "build-image: unknown argument $1" >&2; exit 2 ;;
  esac
done
base_image=localhost/fathom-base:bookworm
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if [ "$(id -u)" -ne 0 ]; then
  echo "build-image: run as root (debootstrap and podman import need it here)" >&2
  exit 1
fi
for tool in podman debootstrap; do
  command -v "$tool" >/dev/null 2>&1 || { echo "build-image: $tool missing (apt-get install podman runc debootstrap)" >&2; exit 1; }
done

# ---- 1. the base image ----
if ((rebuild_base)) || ! podman image exists "$base_image"; then
  rootfs=$(mktemp -d /var/tmp/fathom-rootfs.XXXXXX)
  trap 'rm -rf "$rootfs"' EXIT
  echo "build-image: debootstrap bookworm from $mirror"
  start=$SECONDS
  debootstrap --variant=minbase --include=ca-certificates bookworm "$rootfs" "$mirror" >/dev/null
  # The same suites as a stock Debian 12 image: security fixes and updates.
  cat >"$rootfs/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb ${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security} bookworm-security main
EOF
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/log/*.log
  tar -C "$rootfs" --numeric-owner -c . |
    podman import --change 'CMD ["/bin/bash"]' --change 'ENV LANG=C.UTF-8' - "$base_image" >/dev/null
  rm -rf "$rootfs"
  trap - EXIT
  echo "build-image: base $base_image in $((SECONDS - start)) s"
fi

podman_env_setup "$base_image"

# ---- 2. the image ----
# --format docker: OCI images cannot carry HEALTHCHECK. .containerignore keeps the context to
# the sources the Containerfile copies.
start=$SECONDS
"${PODMAN[@]}" build --format docker "${RUN_LIMITS[@]}" \
  --build-arg "BASE_IMAGE=$base_image" --build-arg "JOBS=$jobs" \
  -f Containerfile -t "$tag" -t localhost/fathom:latest .
echo "build-image: $tag built in $((SECONDS - start)) s"
