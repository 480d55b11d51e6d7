#!/usr/bin/env bash
# Release build of the page into dist/, then the gzipped size of every .wasm and .js.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
trunk build --release
# The offline copy: a service worker that caches exactly this build (www/sw.js, with
# the build's hash as its version and every file of dist/ as its assets).
assets=$(cd dist && find . -type f ! -name sw.js | sort | sed 's|^\./||')
version=$(cd dist && printf '%s\n' $assets | xargs sha256sum | sha256sum | cut -c1-16)
list=$(printf '"./"'; for f in $assets; do printf ', "./%s"' "$f"; done)
sed -e "s|__VERSION__|$version|" -e "s|__ASSETS__|[$list]|" www/sw.js > dist/sw.js
echo "dist/sw.js: offline copy $version of $(echo $assets | wc -w) files"
echo "dist/ sizes (raw / gzipped):"
for f in dist/*.wasm dist/*.js; do
  printf '  %-40s %8d B  %8d B gz\n' "$(basename "$f")" "$(stat -c %s "$f")" "$(gzip -9 -c "$f" | wc -c)"
done
