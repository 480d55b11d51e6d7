# Sourced by the scripts: put the project's tools first on PATH (binaryen's wasm-opt
# before any system one, which produces broken .wasm files here).
export PATH="$PWD/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export CHROMEDRIVER=/usr/bin/chromedriver
