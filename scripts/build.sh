#!/usr/bin/env bash
# Release build of the page into dist/, then the gzipped size of every .wasm and .js.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
trunk build --release
echo "dist/ sizes (raw / gzipped):"
for f in dist/*.wasm dist/*.js; do
  printf '  %-40s %8d B  %8d B gz\n' "$(basename "$f")" "$(stat -c %s "$f")" "$(gzip -9 -c "$f" | wc -c)"
done
