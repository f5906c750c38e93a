#!/bin/sh
# Installs the servers the end-to-end tests start, when they are missing and we may install
# them (root and apt-get):
# - ngircd, the plain IRC server; without it the tests fall back to miniircd (a pip dev
#   dependency);
# - inspircd and atheme-services, the services network (NickServ, SASL, TLS, MONITOR); without
#   them the services tests are skipped.
set -eu

can_install() {
    [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1
}

updated=no
apt_install() {
    if [ "$updated" = no ]; then
        apt-get update -qq
        updated=yes
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# The packages start system-wide daemons; the tests start their own, on free ports.
stop_system_service() {
    if command -v systemctl >/dev/null 2>&1; then
        systemctl disable --now "$1" >/dev/null 2>&1 || true
    fi
    if command -v service >/dev/null 2>&1; then service "$1" stop >/dev/null 2>&1 || true; fi
}

if ! command -v ngircd >/dev/null 2>&1 && ! [ -x /usr/sbin/ngircd ]; then
    if can_install; then
        echo "installing ngircd (Debian package) for the end-to-end tests"
        apt_install ngircd
        stop_system_service ngircd
        pkill -x ngircd 2>/dev/null || true
    else
        echo "ngircd not found and cannot install it (need root and apt-get): tests use miniircd"
    fi
fi

if ! [ -x /usr/sbin/inspircd ] || ! [ -x /usr/bin/atheme-services ]; then
    if can_install; then
        echo "installing inspircd and atheme-services (Debian packages) for the services tests"
        apt_install inspircd atheme-services
        stop_system_service inspircd
        stop_system_service atheme-services
    else
        echo "inspircd/atheme-services not found and cannot install them" \
            "(need root and apt-get): the services tests are skipped"
    fi
fi
