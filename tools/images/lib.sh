# shellcheck shell=bash disable=SC2034
# Shared settings for the image scripts (sourced, not run).
# Override any of these from the environment.

IMAGES_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$IMAGES_DIR/../.." && pwd)

# The four app images and the local Node base they are built on.
APPS=(registry agency dcu researchers)
IMAGE_TAG=${IMAGE_TAG:-latest}
NODE_VERSION=${NODE_VERSION:-20.20.2}
NPM_VERSION=${NPM_VERSION:-10.9.9}
DEBIAN_SUITE=${DEBIAN_SUITE:-bookworm}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# Whether the caller chose a base (with Docker the Dockerfiles' default, node:20-slim, is used).
BASE_IMAGE_GIVEN=${BASE_IMAGE:+1}
BASE_IMAGE=${BASE_IMAGE:-localhost/node-base:${NODE_VERSION}}

# Where the base image tar (and the downloads it is made from) are kept between runs.
IMAGES_CACHE_DIR=${IMAGES_CACHE_DIR:-$IMAGES_DIR/.cache}

# podman/buildah settings these machines need (runc, cgroupfs, file events, ulimits).
export CONTAINERS_CONF=${CONTAINERS_CONF:-$IMAGES_DIR/containers.conf}

# The CA bundle that npm inside a build uses (HTTPS to the registry is re-signed here).
# Mounted for the build steps only; nothing of it ends up in an image. Empty: no mount.
BUILD_CA_BUNDLE=${BUILD_CA_BUNDLE-/etc/ssl/certs/ca-certificates.crt}
# The host's npm cache, mounted into the build steps so `npm ci` does not download the
# same tarballs four times. Empty: no mount (every build downloads).
BUILD_NPM_CACHE=${BUILD_NPM_CACHE-$(npm config get cache 2>/dev/null || true)}

log() { printf '[images %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

image_name() { printf 'grantline/%s:%s' "$1" "$IMAGE_TAG"; }

need() {
  local missing=()
  for tool in "$@"; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
  if ((${#missing[@]})); then
    die "missing ${missing[*]}: apt-get install -y buildah podman runc debootstrap && apt-get install -y --no-install-recommends docker-compose"
  fi
}
