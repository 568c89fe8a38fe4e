#!/usr/bin/env bash
# bench/global-tables/run.sh — build polyregion and run the global-tables benchmark.
#
#   bash bench/global-tables/run.sh [flags of go run ./bench/global-tables, e.g. -rounds 1 -duration 5s]
#
# Builds bin/polyregion, then runs `go run ./bench/global-tables` under the benchmarks' lock
# (/tmp/polyregion-bench.lock: on a shared machine two benchmarks never run at once). It
# starts its own `polyregion up --ephemeral-ports` fleet in a temporary directory, stops it
# and removes the directory at the end (about 2.5 minutes with the defaults). Nothing to
# install: the AWS SDK for Go is a module dependency.
set -euo pipefail
cd "$(dirname "$0")/../.."

echo "== go build -o bin/polyregion ./cmd/polyregion"
go build -o bin/polyregion ./cmd/polyregion
echo "== flock /tmp/polyregion-bench.lock go run ./bench/global-tables -polyregion bin/polyregion $*"
exec flock /tmp/polyregion-bench.lock go run ./bench/global-tables -polyregion bin/polyregion "$@"
