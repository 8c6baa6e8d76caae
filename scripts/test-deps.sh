#!/usr/bin/env bash
# Installs or starts what the tests need, and says what it could not.
# Sourced by scripts/test.sh; exports DRAFTER_TEST_* for the Go tests.

VERSITYGW_VERSION=v1.8.0
MAILPIT_VERSION=v1.27.11

gobin="$(go env GOPATH)/bin"
export PATH="$gobin:$PATH"

note() { echo "test-deps: $*"; }

is_root() { [ "$(id -u)" = 0 ]; }

apt_install() {
	if ! is_root; then return 1; fi
	if [ -z "${_apt_updated:-}" ]; then apt-get update -qq >/dev/null 2>&1 || true; _apt_updated=1; fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1
}

# go_tool NAME MODULE@VERSION: install a test server with go install, once.
go_tool() {
	local name=$1 mod=$2 want=${2##*@}
	local stamp="$gobin/.$name.version"
	if [ -x "$gobin/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then return 0; fi
	note "installing $name ($mod), a few minutes the first time"
	if go install "$mod"; then echo "$want" >"$stamp"; else note "could not install $name: its tests will be skipped"; fi
}

go_tool versitygw "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION" &
go_tool mailpit "github.com/axllent/mailpit@$MAILPIT_VERSION" &

# qpdf and pdftotext check every PDF drafter renders.
if ! command -v qpdf >/dev/null || ! command -v pdftotext >/dev/null; then
	apt_install qpdf poppler-utils || note "qpdf/poppler-utils missing and cannot be installed (not root): PDF checks will be skipped"
fi

# promtool (Debian prometheus) checks docs/alerts.yml and runs its unit tests.
if ! command -v promtool >/dev/null; then
	apt_install --no-install-recommends prometheus || note "promtool missing and cannot be installed (not root): alert rule checks will be skipped"
fi

# OpenSSH's sshd is the SFTP server the bank connection's tests run against.
if [ ! -x /usr/sbin/sshd ]; then
	apt_install openssh-server || note "sshd missing and cannot be installed (not root): bank SFTP tests will be skipped"
fi

# Chromium drives the console's browser tests (chromedp), with axe-core
# from npm injected into each page (test-only, kept in the user's cache).
if ! command -v chromium >/dev/null && [ -z "${DRAFTER_TEST_CHROMIUM:-}" ]; then
	apt_install chromium || note "chromium missing and cannot be installed (not root): the console's browser tests will be skipped"
fi
AXE_VERSION=4.14.1
axe_dir="${XDG_CACHE_HOME:-$HOME/.cache}/drafter-test/axe-core@$AXE_VERSION"
if [ ! -f "$axe_dir/node_modules/axe-core/axe.min.js" ] && command -v npm >/dev/null; then
	mkdir -p "$axe_dir"
	npm install --prefix "$axe_dir" --no-save --no-audit --no-fund "axe-core@$AXE_VERSION" >/dev/null 2>&1 ||
		note "could not install axe-core from npm: the console's browser tests will be skipped"
fi

# PostgreSQL: use DRAFTER_TEST_POSTGRES_URL, or the local server, starting
# it or installing it when needed.
pg_ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
if [ -z "${DRAFTER_TEST_POSTGRES_URL:-}" ]; then
	if ! command -v pg_ctlcluster >/dev/null; then
		note "PostgreSQL is not installed; installing it"
		apt_install postgresql || note "cannot install PostgreSQL (not root or no package registry): PostgreSQL tests will be skipped"
	fi
	if command -v pg_ctlcluster >/dev/null && ! pg_ready; then
		ver=$(ls /etc/postgresql 2>/dev/null | sort -n | tail -1)
		if [ -n "$ver" ]; then
			note "starting PostgreSQL $ver"
			pg_ctlcluster --skip-systemctl-redirect "$ver" main start >/dev/null 2>&1 || true
			for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
		fi
	fi
	if pg_ready; then
		# A fresh Debian install only trusts peer logins; give the tests a
		# password login on loopback.
		if ! psql "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable" -Atqc 'select 1' >/dev/null 2>&1 && is_root; then
			su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null 2>&1 || true
			export DRAFTER_TEST_POSTGRES_URL="postgres://postgres:postgres@127.0.0.1:5432/postgres?sslmode=disable"
		fi
	else
		note "PostgreSQL is not running on 127.0.0.1:5432: PostgreSQL tests will be skipped"
	fi
fi

wait
[ -x "$gobin/versitygw" ] && export DRAFTER_TEST_VERSITYGW="$gobin/versitygw"
[ -x "$gobin/mailpit" ] && export DRAFTER_TEST_MAILPIT="$gobin/mailpit"
true
