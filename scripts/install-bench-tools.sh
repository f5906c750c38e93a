#!/bin/sh
# Installs what `make bench` uses beside the test servers, when it is missing and we may
# install it (root and apt-get):
# - wrk, the HTTP load generator (C, a few microseconds of CPU per request): the webhook
#   benchmarks load the server with it, so that on a small machine the client does not
#   take the CPU the server needs. Without it they fall back to benchmarks/loadgen.py,
#   a Python client, and say so.
set -eu

if ! command -v wrk >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing wrk (Debian package) for the webhook benchmarks"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
    else
        echo "wrk not found and cannot install it (need root and apt-get):" \
            "the webhook benchmarks use benchmarks/loadgen.py, which may be what limits them"
    fi
fi
