#!/usr/bin/env bash
# Builds a local base image with a Java 17 runtime from Debian's packages, for machines that have a Docker
# engine but no image registry (no `docker pull`). Users with a registry don't need this: the Dockerfile's
# default base is the public eclipse-temurin:17-jre image.
#
#   deploy/docker/make-local-base.sh [IMAGE]      # default IMAGE: tiergate/local-base:bookworm
#
# Needs root, debootstrap and a reachable Debian mirror (DEBIAN_MIRROR, default deb.debian.org).
set -euo pipefail
image="${1:-tiergate/local-base:bookworm}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
if docker image inspect "$image" >/dev/null 2>&1; then
  echo "$image already exists"
  exit 0
fi
command -v debootstrap >/dev/null || { echo "make-local-base: needs debootstrap (apt-get install debootstrap)" >&2; exit 1; }
root="$(mktemp -d /var/tmp/tiergate-base.XXXXXX)"
trap 'rm -rf "$root"' EXIT
echo "debootstrap bookworm into $root (a few minutes)..."
debootstrap --variant=minbase --include=openjdk-17-jre-headless,ca-certificates \
  bookworm "$root" "$mirror" >"$root.log" 2>&1 || { tail -20 "$root.log" >&2; exit 1; }
rm -f "$root.log"
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/*
tar -C "$root" -c . | docker import - "$image" >/dev/null
echo "built $image ($(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}'))"
