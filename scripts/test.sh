#!/usr/bin/env bash
# make test: vet, then every test against real servers, then a summary that
# names every skipped test and why.
set -uo pipefail
cd "$(dirname "$0")/.."

go mod download || exit 1
source scripts/test-deps.sh

echo "== go vet"
go vet ./... || exit 1

echo "== go test"
mkdir -p .cache
# -p 2: two cores; each package's servers are started by its own tests.
go test -count=1 -p 2 -timeout 15m -json ./... >.cache/test.json 2>.cache/test.stderr
status=$?
go run ./internal/testreport <.cache/test.json
report=$?
if [ -s .cache/test.stderr ]; then cat .cache/test.stderr; fi
if [ $status -ne 0 ] || [ $report -ne 0 ]; then exit 1; fi

# Every fuzz target, a short while each (about a minute in all once the
# instrumented builds are cached); longer runs: FUZZTIME=5m make fuzz.
# The seeds and committed corpora ran above, in go test, and fail the
# build; what a few seconds of mutation finds is reported, not failed on
# (it would make CI flaky: see scripts/fuzz.sh), unless TEST_FUZZ_STRICT=1.
advisory=1
if [ "${TEST_FUZZ_STRICT:-0}" = 1 ]; then advisory=0; fi
echo "== make fuzz (FUZZTIME=${TEST_FUZZTIME:-2s} a target, advisory=$advisory)"
FUZZTIME=${TEST_FUZZTIME:-2s} FUZZ_ADVISORY=$advisory bash scripts/fuzz.sh || exit 1
