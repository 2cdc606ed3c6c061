#!/usr/bin/env bash
# Builds the image of every app (or of the apps named):
#   grantline/registry, grantline/agency, grantline/dcu, grantline/researchers  (:$IMAGE_TAG)
# and prints what each image adds on top of its base.
# All from the one Dockerfile at the root (--build-arg APP=<app> --target <app>), whose build
# stage is the same for every app, so it is built once and cached for the others.
#   - With a running Docker engine: `docker build` on the Dockerfile's base (node:20-slim).
#   - Without one (our machines): buildah, on the local Node base that tools/images/base.sh
#     makes (debootstrap + Node from the npm registry), with the host's CA bundle and npm
#     cache mounted into the build steps only.
#
# Usage: tools/images/build-all.sh [app...]    (npm run images; npx nx docker-build <app>)
# Environment: IMAGE_BUILDER (auto, docker or buildah), IMAGE_TAG (latest), BASE_IMAGE,
#   IMAGES_CACHE_DIR, BUILD_NPM_CACHE, BUILD_CA_BUNDLE, CONTAINERS_CONF (see lib.sh).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

builder=${IMAGE_BUILDER:-auto}
if [[ "$builder" == auto ]]; then
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then builder=docker; else builder=buildah; fi
fi

apps=("$@")
((${#apps[@]})) || apps=("${APPS[@]}")
for app in "${apps[@]}"; do
  [[ -f "$REPO_ROOT/apps/$app/package.json" ]] || die "no app named '$app' (apps/$app)"
done

if [[ "$builder" == docker ]]; then
  need docker
  base_args=()
  [[ -n "$BASE_IMAGE_GIVEN" ]] && base_args=(--build-arg BASE_IMAGE="$BASE_IMAGE")
  for app in "${apps[@]}"; do
    log "building $(image_name "$app") with docker"
    docker build "${base_args[@]}" --build-arg APP="$app" --target "$app" -f "$REPO_ROOT/Dockerfile" -t "$(image_name "$app")" "$REPO_ROOT"
  done
  base=${BASE_IMAGE_GIVEN:+$BASE_IMAGE}
  base=${base:-node:20-slim}
  base_size=$(docker image inspect --format '{{.Size}}' "$base")
  for app in "${apps[@]}"; do
    size=$(docker image inspect --format '{{.Size}}' "$(image_name "$app")")
    log "$(image_name "$app"): $(numfmt --to=si --suffix=B $((size - base_size))) on top of $base"
  done
  exit 0
fi

need buildah podman
bash "$IMAGES_DIR/base.sh" >/dev/null

# Mounted into every RUN step of the build only (buildah -v): never part of a layer.
mounts=()
if [[ -n "$BUILD_CA_BUNDLE" && -s "$BUILD_CA_BUNDLE" ]]; then
  mkdir -p "$IMAGES_CACHE_DIR"
  npmrc="$IMAGES_CACHE_DIR/build.npmrc"
  printf 'cafile=/etc/ssl/certs/ca-certificates.crt\nupdate-notifier=false\nprefer-offline=true\n' >"$npmrc"
  mounts+=(-v "$BUILD_CA_BUNDLE:/etc/ssl/certs/ca-certificates.crt:ro" -v "$npmrc:/root/.npmrc:ro")
fi
if [[ -n "$BUILD_NPM_CACHE" ]]; then
  mkdir -p "$BUILD_NPM_CACHE"
  mounts+=(-v "$BUILD_NPM_CACHE:/root/.npm")
fi

for app in "${apps[@]}"; do
  image=$(image_name "$app")
  log "building $image"
  started=$SECONDS
  buildah bud --quiet --isolation chroot --format docker --layers --force-rm \
    --build-arg BASE_IMAGE="$BASE_IMAGE" --build-arg APP="$app" --target "$app" \
    "${mounts[@]}" \
    -f "$REPO_ROOT/Dockerfile" -t "$image" "$REPO_ROOT" >/dev/null
  log "built $image in $((SECONDS - started)) s"
done

# What each image adds on top of the base: its own layers (app + production dependencies).
base_size=$(podman image inspect --format '{{.Size}}' "$BASE_IMAGE")
printf '%-28s %12s %14s\n' image size 'on top of base' >&2
printf '%-28s %12s %14s\n' "$BASE_IMAGE" "$(numfmt --to=si --suffix=B "$base_size")" - >&2
for app in "${apps[@]}"; do
  image=$(image_name "$app")
  size=$(podman image inspect --format '{{.Size}}' "$image")
  printf '%-28s %12s %14s\n' "$image" "$(numfmt --to=si --suffix=B "$size")" \
    "$(numfmt --to=si --suffix=B $((size - base_size)))" >&2
done
