#!/usr/bin/env bash
# Set up what is missing, build the explorer and serve it on http://127.0.0.1:8080.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
echo
echo "Attribution Explorer: http://127.0.0.1:8080/  (Ctrl-C stops the server)"
exec python3 -m http.server 8080 --bind 127.0.0.1 --directory dist
