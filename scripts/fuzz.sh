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
# make test runs this with FUZZTIME=2s and FUZZ_ADVISORY=1 (scripts/test.sh).
#
# FUZZ_ADVISORY=1: an input the mutator finds is reported (the target, the
# input's file and its content, printed so a CI log keeps it) but the exit
# status is 0. make test runs every seed and committed corpus input first,
# deterministically, in its go test step, and fails the build on those; a
# few seconds of random mutation may or may not find the same crasher on
# the next run of the same commit, so it must not decide whether a build
# passes (that would make CI flaky). Commit a reported input under the
# package's testdata/fuzz/TARGET/ with its fix: it then fails go test, and
# so make test, until fixed. A failure to build or start a target is not
# advisory. make fuzz itself (and TEST_FUZZ_STRICT=1 make test) fails on
# a finding.
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
found=""
for t in $targets; do
	pkg=${t%%:*}
	target=${t#*:}
	echo "== ./$pkg $target ($fuzztime)"
	t0=$(date +%s)
	log=$(mktemp)
	fuzz_once() {
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -fuzzminimizetime "${FUZZMINIMIZETIME:-1s}" \
			-parallel "$workers" "./$pkg" 2>&1 | tee "$log"
	}
	ok=1
	if ! fuzz_once; then
		ok=0
		# A failure that wrote no input and is no build failure (a fuzz
		# worker starved on a loaded machine, the coordinator's own
		# timeout) is the machine, not the code: it is tried once more,
		# and only a second such failure counts.
		if ! grep -q 'Failing input written to' "$log" && ! grep -q '\[build failed\]\|^# ' "$log"; then
			echo "make fuzz: ./$pkg $target failed without a failing input; trying it once more"
			if fuzz_once; then ok=1; fi
		fi
	fi
	if [ $ok = 0 ]; then
		# go test names the input it wrote: "Failing input written to testdata/fuzz/T/X".
		input=$(sed -n 's/.*Failing input written to \(testdata\/fuzz\/[^ ]*\).*/\1/p' "$log" | head -n 1)
		if [ -n "$input" ] && [ "${FUZZ_ADVISORY:-0}" = 1 ]; then
			found="$found ./$pkg:$target"
			echo "make fuzz: FOUND by mutation in ./$pkg $target (advisory, the build is not failed): $pkg/$input"
			head -c 4096 "$pkg/$input"
			echo
		else
			failed="$failed ./$pkg:$target"
		fi
	fi
	rm -f "$log"
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
if [ -n "$found" ]; then
	echo "make fuzz: inputs found by mutation (advisory; commit each with its fix):$found"
fi
if [ -n "$failed" ]; then
	echo "make fuzz: failed:$failed (the failing inputs are under each package's testdata/fuzz/)"
	exit 1
fi
