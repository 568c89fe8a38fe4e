#!/usr/bin/env bash
# Installs the Debian packages the tests need, only when missing. The tests drive polyregion
# with real clients; each line below names the command a test runs and the package with it.
set -euo pipefail

need=()
want() { # want COMMAND PACKAGE
	command -v "$1" >/dev/null 2>&1 || need+=("$2")
}

command -v go >/dev/null 2>&1 || { echo "install-deps: Go is required (go1.26)" >&2; exit 1; }
want git git
want dig dnsutils        # DNS integration tests query with dig
want kdig knot-dnsutils  # ... and kdig
want aws awscli          # the AWS CLI drives the Route 53 API

if [ ${#need[@]} -gt 0 ]; then
	echo "install-deps: installing ${need[*]}"
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO="sudo"
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
