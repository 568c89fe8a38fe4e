#!/usr/bin/env bash
# bench/dns/run.sh — install what the DNS benchmark needs, build polyregion, run it.
#
#   bash bench/dns/run.sh [flags of go run ./bench/dns, e.g. -rounds 1 -duration 5s]
#
# Installs, when missing, the Debian packages dnsperf, gdnsd, pdns-server,
# pdns-backend-bind and pdns-backend-geoip (and util-linux for taskset); stops the system services the packages
# may start (the benchmark runs its own servers on free ports of 127.0.0.1); builds
# bin/polyregion; then runs `go run ./bench/dns`, which stops by itself (about 3.5 minutes
# with the defaults). Nothing it fetches is kept in the repository.
set -euo pipefail
cd "$(dirname "$0")/../.."

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

missing=()
for pkg in dnsperf gdnsd pdns-server pdns-backend-bind pdns-backend-geoip util-linux; do
	installed "$pkg" || missing+=("$pkg")
done
if ((${#missing[@]})); then
	sudo=()
	[ "$(id -u)" -eq 0 ] || sudo=(sudo)
	echo "== installing ${missing[*]}"
	"${sudo[@]}" apt-get update -q
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
	# The packages' own services would answer on port 53; the benchmark does not use them.
	if command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1; then
		for svc in gdnsd pdns; do
			if systemctl is-active --quiet "$svc"; then
				"${sudo[@]}" systemctl stop "$svc"
				"${sudo[@]}" systemctl disable "$svc" >/dev/null 2>&1 || true
			fi
		done
	fi
fi

echo "== go build -o bin/polyregion ./cmd/polyregion"
go build -o bin/polyregion ./cmd/polyregion
echo "== go run ./bench/dns -polyregion bin/polyregion $*"
exec go run ./bench/dns -polyregion bin/polyregion "$@"
