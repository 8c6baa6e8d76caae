#!/usr/bin/env bash
# make bench: every Go benchmark, once each, against the same real servers
# the tests use. Results go to .cache/bench.txt; copy the figures that
# matter into BENCHMARKS.md with the machine and date.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/test-deps.sh
mkdir -p .cache
go test -run '^$' -bench "${BENCH:-.}" -benchmem -benchtime "${BENCHTIME:-1x}" -timeout 60m ./... | tee .cache/bench.txt
