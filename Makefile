# The two commands of the README. Both install what is missing first.
.PHONY: run test bench bench-web bench-numpy fuzz
run:   ## build the explorer and serve it on http://127.0.0.1:8080
	scripts/run.sh
test:  ## run every check and test (what CI runs)
	scripts/test.sh
bench: ## native benchmarks (criterion); numbers go in the README
	cargo bench --bench engine
bench-web: ## browser benchmarks of the built page, then the engine's jobs of `make bench` in the browser (prints, asserts nothing)
	scripts/setup.sh && scripts/build.sh && node tests/e2e/bench.mjs
	. scripts/env.sh && cargo test --release --target wasm32-unknown-unknown --test browser_speed -- --nocapture
bench-numpy: ## the CLI against NumPy (with its BLAS) on breast cancer, same run (prints, asserts the same numbers)
	cargo build --release
	test -x target/numpy-venv/bin/python || python3 -m venv target/numpy-venv
	target/numpy-venv/bin/pip install --quiet numpy
	target/numpy-venv/bin/python scripts/numpy_compare.py
fuzz:  ## ten million hostile inputs per target (CSV, URL, worker messages); about an hour
	FUZZ_CASES=10000000 cargo test --release --test native fuzz -- --test-threads 2
