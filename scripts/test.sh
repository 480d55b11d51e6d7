#!/usr/bin/env bash
# Set up what is missing, then run every check: formatting, lints (native and wasm32),
# docs, native tests, browser tests of Rust code, the release build, and the
# end-to-end test in headless Chromium. Runs all steps, prints a summary, and exits
# non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh || { echo "setup failed"; exit 1; }
source scripts/env.sh

passed=0; failed=0; failures=()
step() {
  local name=$1; shift
  echo; echo "=== $name: $*"
  local start=$SECONDS
  if "$@"; then passed=$((passed + 1)); echo "=== $name: ok ($((SECONDS - start)) s)"
  else failed=$((failed + 1)); failures+=("$name"); echo "=== $name: FAILED ($((SECONDS - start)) s)"; fi
}

step fmt cargo fmt --check
step clippy-native cargo clippy --all-targets -- -D warnings
step clippy-wasm32 cargo clippy --all-targets --target wasm32-unknown-unknown -- -D warnings
step doc env RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --quiet
step doc-wasm32 env RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --quiet --target wasm32-unknown-unknown
step native-tests cargo test
step browser-tests cargo test --target wasm32-unknown-unknown --test browser
step release-build scripts/build.sh
step e2e node tests/e2e/run.mjs

echo
[ $failed -eq 0 ] || echo "failed steps: ${failures[*]}"
echo "check steps: $passed passed, $failed failed"
[ $failed -eq 0 ]
