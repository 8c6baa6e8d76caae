#!/usr/bin/env bash
# make fuzz: run each fuzz target for FUZZTIME (default 10s) on at most
# FUZZ_WORKERS (default 2) processes, and say how long each took. Every
# target runs even when one fails; the exit status says whether any did.
# FUZZMINIMIZETIME (default 1s) bounds how long a new input is minimized:
# go test's 60s default spends a short run minimizing (FuzzIngest's inputs
# that parse reach SQLite, which -fuzz instruments, so each is slow).
#   FUZZ_TARGETS='ach:FuzzParseInbound jobs:FuzzIngest' make fuzz   # a subset
# Inputs that fail are written under the package's testdata/fuzz/ by go
# test; commit them with the fix, so they stay in the seed corpus.
# FUZZ_KEEP=N copies up to N of the smallest inputs each target found
# interesting (go test keeps them in its cache) into the package's
# testdata/fuzz/TARGET/, to be committed as seed corpus: plain go test and
# make test then run them too.
# make test runs this with FUZZTIME=2s (scripts/test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-10s}
workers=${FUZZ_WORKERS:-2}
targets=${FUZZ_TARGETS:-}
if [ -z "$targets" ]; then
	# Every package with a fuzz target, found without building them all.
	for dir in $(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do
		for target in $(grep -h --include='*_test.go' -o '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go | sed 's/^func //' | sort -u); do
			targets="$targets ${dir#./}:$target"
		done
	done
fi
start=$(date +%s)
failed=""
for t in $targets; do
	pkg=${t%%:*}
	target=${t#*:}
	echo "== ./$pkg $target ($fuzztime)"
	t0=$(date +%s)
	if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -fuzzminimizetime "${FUZZMINIMIZETIME:-1s}" \
		-parallel "$workers" "./$pkg"; then
		failed="$failed ./$pkg:$target"
	fi
	echo "   took $(($(date +%s) - t0))s (build included)"
	if [ "${FUZZ_KEEP:-0}" -gt 0 ]; then
		cache="$(go env GOCACHE)/fuzz/$(go list "./$pkg")/$target"
		if [ -d "$cache" ]; then
			mkdir -p "$pkg/testdata/fuzz/$target"
			# The smallest first: they run fast and read well.
			ls -S -r "$cache" | head -n "$FUZZ_KEEP" | while read -r f; do cp "$cache/$f" "$pkg/testdata/fuzz/$target/"; done
		fi
	fi
done
echo "make fuzz: $(echo $targets | wc -w) targets in $(($(date +%s) - start))s"
if [ -n "$failed" ]; then
	echo "make fuzz: failed:$failed (the failing inputs are under each package's testdata/fuzz/)"
	exit 1
fi
