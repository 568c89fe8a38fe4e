#!/usr/bin/env bash
# bench/edge/run.sh — install what the edge benchmark needs, build polyregion, run it.
#
#   bash bench/edge/run.sh [flags of go run ./bench/edge, e.g. -rounds 1 -duration 2s]
#
# Installs, when missing, the Debian packages haproxy, nginx-light, libnginx-mod-stream,
# iperf3 and wrk (and util-linux for taskset); stops the system services the packages may
# start (the benchmark runs its own HAProxy, nginx and iperf3 on free ports of 127.0.0.1);
# builds bin/polyregion; then runs `go run ./bench/edge`, which stops by itself (about 5
# minutes with the defaults). Nothing it fetches is kept in the repository.
set -euo pipefail
cd "$(dirname "$0")/../.."

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

missing=()
for pkg in haproxy nginx-light libnginx-mod-stream iperf3 wrk util-linux; do
	installed "$pkg" || missing+=("$pkg")
done
if ((${#missing[@]})); then
	sudo=()
	[ "$(id -u)" -eq 0 ] || sudo=(sudo)
	echo "== installing ${missing[*]}"
	"${sudo[@]}" apt-get update -q
	# iperf3's package asks whether to start a daemon: no.
	echo "iperf3 iperf3/start_daemon boolean false" | "${sudo[@]}" debconf-set-selections 2>/dev/null || true
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
	# The packages' own services would hold ports 80 and 5201 and use the CPUs; the
	# benchmark does not use them.
	if command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1; then
		for svc in haproxy nginx iperf3; do
			if systemctl is-active --quiet "$svc"; then
				"${sudo[@]}" systemctl stop "$svc"
				"${sudo[@]}" systemctl disable "$svc" >/dev/null 2>&1 || true
			fi
		done
	fi
fi

echo "== go build -o bin/polyregion ./cmd/polyregion"
go build -o bin/polyregion ./cmd/polyregion
echo "== go run ./bench/edge -polyregion bin/polyregion $*"
exec go run ./bench/edge -polyregion bin/polyregion "$@"
