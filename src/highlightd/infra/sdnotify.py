"""systemd's readiness protocol (sd_notify), spoken over the stdlib socket.

Under `Type=notify` systemd passes a unix datagram socket in $NOTIFY_SOCKET and
waits for "READY=1" before it counts the service as started. Outside systemd
the variable is unset and every call does nothing.
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)


def notify(state: str) -> bool:
    """Send state (like "READY=1") to systemd; False when there is nobody to tell."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address or address[0] not in "/@":
        return False  # not under systemd (or a vsock address, which we do not speak)
    if address[0] == "@":
        address = "\0" + address[1:]  # Linux abstract namespace
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError as exc:
        log.warning("cannot notify systemd (%s): %s", state.split("\n", 1)[0], exc)
        return False
    return True
