# finlake — benchmarks (included from the Makefile, or run alone: `make -f bench.mk bench`).
#
#   make bench                   every benchmark once at quick sizes (about 15-25 min on 2 cores)
#   make bench BENCH_SIZE=full   full sizes (pipeline at ~50k/200k/1M events; hours on 2 cores)
#
# Each benchmark runs in its own process, one after another; raw outputs land in
# benchmarks/results/runs/$(BENCH_SIZE)/ and the combined figures in
# benchmarks/results/report.json and report.md. The metrics benchmark starts the local Trino.

VENV ?= .venv
BENCH_SIZE ?= quick
BENCH_ARGS ?=

.PHONY: bench

bench:
	@test -x $(VENV)/bin/python || $(MAKE) install
	$(VENV)/bin/python benchmarks/run_all.py --size $(BENCH_SIZE) $(BENCH_ARGS)
