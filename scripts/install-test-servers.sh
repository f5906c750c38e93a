#!/bin/sh
# Installs the IRC server the end-to-end tests start (ngircd), when it is missing
# and we may install it. Without it the tests fall back to miniircd (a pip dev dependency).
set -eu
if command -v ngircd >/dev/null 2>&1 || [ -x /usr/sbin/ngircd ]; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ngircd (Debian package) for the end-to-end tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ngircd >/dev/null
    # The package starts a system-wide ngircd on port 6667; the tests start their own.
    if command -v service >/dev/null 2>&1; then service ngircd stop >/dev/null 2>&1 || true; fi
    pkill -x ngircd 2>/dev/null || true
else
    echo "ngircd not found and cannot install it (need root and apt-get): tests use miniircd"
fi
