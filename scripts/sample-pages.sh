#!/usr/bin/env bash
# Regenerates the sample pages in docs/: page 1 of the loan statement and
# of the lease-end notice that the statements golden tests render, at 60
# dpi (510 x 660). Needs pdftoppm (poppler-utils).
#
#   scripts/sample-pages.sh            both
#   scripts/sample-pages.sh notice     docs/notice-sample.png only
#   scripts/sample-pages.sh statement  docs/statement-sample.png only
set -euo pipefail
cd "$(dirname "$0")/.."
which="${1:-all}"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
go test ./statements -run 'TestRenderGolden$' -count=1 -pdfdir "$dir" >/dev/null
page1() { pdftoppm -r 60 -png -f 1 -l 1 -singlefile "$dir/$1.pdf" "docs/$2"; echo "docs/$2.png"; }
case "$which" in
all) page1 loan-statement statement-sample; page1 lease-end-notice notice-sample ;;
notice) page1 lease-end-notice notice-sample ;;
statement) page1 loan-statement statement-sample ;;
*) echo "usage: $0 [all|notice|statement]" >&2; exit 2 ;;
esac
