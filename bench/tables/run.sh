#!/usr/bin/env bash
# bench/tables/run.sh — install what the tables benchmark needs, build polyregion, run it.
#
#   bash bench/tables/run.sh [flags of go run ./bench/tables, e.g. -rounds 1 -duration 3s]
#
# Installs, when missing, dynalite 4.x with the machine's npm into bench/tables/.cache/
# (git-ignored; nothing is added to the repository), util-linux for taskset and tcpdump (the
# servers' share of the latency, seen on the loopback); builds
# bin/polyregion; then runs `go run ./bench/tables`, which stops by itself (about 6 minutes
# with the defaults). On a shared machine, run it under the benchmarks' lock so that two
# benchmarks never run at once: flock /tmp/polyregion-bench.lock bash bench/tables/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

cache=bench/tables/.cache
dynalite="$cache/node_modules/.bin/dynalite"
if [ ! -x "$dynalite" ]; then
	command -v npm >/dev/null || { echo "bench/tables: npm not found (Debian: apt-get install npm)" >&2; exit 1; }
	echo "== npm install dynalite@4 into $cache"
	mkdir -p "$cache"
	npm install --prefix "$cache" --no-save --no-audit --no-fund dynalite@4
fi
missing=()
command -v taskset >/dev/null || missing+=(util-linux)
command -v tcpdump >/dev/null || missing+=(tcpdump)
if ((${#missing[@]})); then
	sudo=()
	[ "$(id -u)" -eq 0 ] || sudo=(sudo)
	echo "== installing ${missing[*]}"
	"${sudo[@]}" apt-get update -q
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

echo "== go build -o bin/polyregion ./cmd/polyregion"
go build -o bin/polyregion ./cmd/polyregion
echo "== go run ./bench/tables -polyregion bin/polyregion -dynalite $dynalite $*"
exec go run ./bench/tables -polyregion bin/polyregion -dynalite "$dynalite" "$@"
