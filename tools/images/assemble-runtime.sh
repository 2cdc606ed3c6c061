#!/bin/sh
# Runs inside the build stage of the Dockerfile (APP=<app>), in the workspace root after `npm ci`
# and `tsc -b`: lays out what the app's runtime stage copies, in <out>:
#   <out>/node_modules              production dependencies of that app only
#   <out>/libs/<lib>/{package.json,dist}   the workspace libs it uses (linked from node_modules)
#   <out>/apps/<app>/{package.json,dist}
# Compiled JavaScript only: no TypeScript (sources or declarations), source maps or tests;
# the test, docs and example folders that some dependencies publish are dropped too.
#
# Usage: sh tools/images/assemble-runtime.sh <app> <out>
set -eu
app=$1
out=$2
[ -f "apps/$app/package.json" ] || { echo "no app named $app" >&2; exit 1; }

[ -f "apps/$app/dist/main.js" ] || { echo "apps/$app is not built (tsc -b first)" >&2; exit 1; }

# A fresh tree for the production install: the lockfile and every workspace manifest (npm ci
# checks them all), then only this app's production dependencies and workspace links.
mkdir -p "$out"
cp package.json package-lock.json "$out/"
for manifest in apps/*/package.json libs/*/package.json tools/*/package.json; do
  mkdir -p "$out/${manifest%/package.json}"
  cp "$manifest" "$out/$manifest"
done
(cd "$out" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error \
  --workspace="@grantline/$app")

# The app and the workspace libs it links to, built; every other workspace folder goes.
cp -a "apps/$app/dist" "$out/apps/$app/"
keep=" apps/$app "
for link in "$out"/node_modules/@grantline/*; do
  target=$(readlink "$link")
  case "$target" in
    ../../libs/*)
      lib=${target#../../}
      cp -a "$lib/dist" "$out/$lib/"
      keep="$keep$lib "
      ;;
  esac
done
for dir in "$out"/*/*/; do
  dir=${dir%/}
  rel=${dir#"$out"/}
  case "$rel" in node_modules/*) continue ;; esac
  case "$keep" in *" $rel "*) ;; *) rm -rf "$dir" ;; esac
done
# Folders left empty (tools/, libs/ for an app without libs).
find "$out" -mindepth 1 -maxdepth 1 -type d -empty -delete
rm -f "$out/package.json" "$out/package-lock.json"
find "$out/node_modules/@grantline" -xtype l -delete

# Build leftovers and what a runtime never loads.
find "$out" -name '*.tsbuildinfo' -type f -delete
find "$out" \( -name '*.ts' -o -name '*.mts' -o -name '*.cts' -o -name '*.map' \
  -o -name '*.md' -o -name '*.markdown' \) ! -iname 'licen[cs]e*' ! -iname 'notice*' -type f -delete
find "$out/node_modules" -depth -type d \( -name test -o -name tests -o -name __tests__ \
  -o -name docs -o -name example -o -name examples -o -name benchmark -o -name benchmarks \
  -o -name .github \) -exec rm -rf {} +

# Fail the build if an app or lib source, a test, or a dev-only tool slipped in.
leftover=$(find "$out" -path "$out/node_modules" -prune -o \( -name '*.ts' -o -name '*.test.*' \) -print | head -5)
[ -z "$leftover" ] || { echo "sources left in the runtime tree: $leftover" >&2; exit 1; }
for dev in typescript jest nx @swc eslint; do
  [ ! -e "$out/node_modules/$dev" ] || { echo "dev dependency $dev in the runtime tree" >&2; exit 1; }
done

# Every workspace lib the app uses must load from the runtime tree alone: a lib that imports
# a package it does not declare in its package.json works in the workspace (hoisting) but
# not here, and is caught now rather than when the container starts.
libs=$(cd "$out/node_modules/@grantline" && for name in *; do
  case "$(readlink "$name")" in ../../libs/*) printf '@grantline/%s ' "$name" ;; esac
done)
if [ -n "$libs" ]; then
  # shellcheck disable=SC2016,SC2086
  (cd "$out/apps/$app" && node -e '
    for (const name of process.argv.slice(1)) {
      try {
        require(name);
      } catch (error) {
        console.error(`${name} does not load in the runtime tree of this app: ${error.message.split("\n")[0]}` +
          "\n(is a dependency missing from the \"dependencies\" of its package.json?)");
        process.exit(1);
      }
    }' $libs)
fi
