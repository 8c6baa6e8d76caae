#!/usr/bin/env bash
# make bench: every Go benchmark, once each, against the same real servers
# the tests use. Results go to .cache/bench.txt; copy the figures that
# matter into BENCHMARKS.md with the machine and date.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/test-deps.sh
# The HTML-to-PDF peer of the statement benchmark (Debian's Chromium).
if ! command -v chromium >/dev/null && [ -z "${DRAFTER_CHROMIUM:-}" ]; then
	note "installing chromium for BenchmarkStatementVsChromium"
	apt_install chromium || note "chromium missing and cannot be installed: BenchmarkStatementVsChromium will skip"
fi
mkdir -p .cache
go test -run '^$' -bench "${BENCH:-.}" -benchmem -benchtime "${BENCHTIME:-1x}" -timeout 60m ./... | tee .cache/bench.txt
# Peak RSS of `drafter returns ingest` of a 100 MB return file (530,000
# entries), the real binary under /usr/bin/time -v; it fails at 200 MiB or
# more. DRAFTER_INGEST_RSS_BIN=path/to/older/drafter measures that one too.
if ! [ -x /usr/bin/time ]; then
	note "installing time for TestIngestMemoryBenchmark"
	apt_install time || note "/usr/bin/time missing and cannot be installed: TestIngestMemoryBenchmark will skip"
fi
DRAFTER_INGEST_RSS_BENCH="${DRAFTER_INGEST_RSS_BENCH:-530000}" go test -run '^TestIngestMemoryBenchmark$' -v -timeout 60m ./cmd/drafter/ | tee -a .cache/bench.txt
# The multi-process scale-out measurement (minutes): BENCH_SCALE=1 make bench.
if [ -n "${BENCH_SCALE:-}" ]; then
	DRAFTER_SCALE_BENCH=1,2,4 go test -run '^TestScaleOutBenchmark$' -v -timeout 60m ./cmd/drafter/ | tee -a .cache/bench.txt
fi
