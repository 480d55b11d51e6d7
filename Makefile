# The two commands of the README. Both install what is missing first.
.PHONY: run test bench
run:   ## build the explorer and serve it on http://127.0.0.1:8080
	scripts/run.sh
test:  ## run every check and test (what CI runs)
	scripts/test.sh
bench: ## native benchmarks (criterion); numbers go in the README
	cargo bench --bench engine
