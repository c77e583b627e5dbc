#!/usr/bin/env bash
# Bundles the packed main entry (what npm users get) for the browser with esbuild, tfjs external. Fails when
# anything in it needs a Node built-in, and prints the bundle's size, minified and gzipped.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tarball=$(npm pack --silent --pack-destination "$work")
mkdir -p "$work/app/node_modules/tfjs-rso"
tar -xzf "$work/$tarball" -C "$work/app/node_modules/tfjs-rso" --strip-components=1
ln -s "$PWD/node_modules/seedrandom" "$work/app/node_modules/seedrandom"
echo "import * as rso from 'tfjs-rso'; globalThis.rso = rso;" > "$work/app/entry.js"
node_modules/.bin/esbuild "$work/app/entry.js" --bundle --platform=browser --format=esm --minify \
  --external:@tensorflow/* --outfile="$work/app/bundle.js" --log-level=error
if grep -qE "require\(\"(node:)?(fs|path|zlib|module|worker_threads|readline|events|os|url|child_process)\"\)|from\"node:" "$work/app/bundle.js"; then
  echo "the browser bundle refers to a Node built-in" >&2
  exit 1
fi
raw=$(wc -c < "$work/app/bundle.js")
gz=$(gzip -9 -c "$work/app/bundle.js" | wc -c)
echo "browser bundle of tfjs-rso (tfjs external): ${raw} bytes minified, ${gz} bytes gzipped"
