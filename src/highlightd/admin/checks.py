"""What check-config says of a valid config (warnings), and what `run` refuses to start with.

A valid config can still be one nobody meant: the example's placeholder network,
an empty host, plain text on the TLS port. check-config warns (exit 0); `run`
refuses what cannot work (no network, a placeholder, a storage folder it would
have to create somewhere unexpected).
"""

from __future__ import annotations

import os
from pathlib import Path

from highlightd.admin import UsageError
from highlightd.admin.template import PLACEHOLDER_CHANNEL, PLACEHOLDER_HOST, PLACEHOLDER_NICK
from highlightd.config import DEFAULT_CONFIG, NetworkSettings, Settings

TLS_PORTS = (6697, 7000, 9999)
PLAIN_PORTS = (6667, 6668, 6669)
EXAMPLE_DOMAINS = ("example.net", "example.org", "example.com")
INIT_HINT = "highlightd init --network NAME --host HOST --nick NICK --channel '#chan'"


def looked_in() -> str:
    """Where a config file was looked for, when none was named and none found."""
    return f"$HIGHLIGHTD_CONFIG (not set) and ./{DEFAULT_CONFIG} ({DEFAULT_CONFIG.resolve()})"


def env_overrides() -> list[str]:
    """The HIGHLIGHTD_* variables set now (names only: values may be secrets)."""
    return sorted(n for n in os.environ if n.upper().startswith("HIGHLIGHTD_"))


def _is_example_host(host: str) -> bool:
    host = host.strip().lower().rstrip(".")
    return host == PLACEHOLDER_HOST or any(
        host == d or host.endswith("." + d) for d in EXAMPLE_DOMAINS
    )


def placeholders(network: NetworkSettings) -> list[str]:
    """What in this network is still the example's placeholder."""
    found = []
    if _is_example_host(network.host):
        found.append(f"host {network.host}")
    if network.nick.upper() == PLACEHOLDER_NICK:
        found.append(f"nick {network.nick}")
    found += [f"channel {c}" for c in network.channels if c.upper() == PLACEHOLDER_CHANNEL]
    return found


def _network_warnings(index: int, network: NetworkSettings) -> list[str]:
    where = f"networks[{index}] ({network.name})"
    out = []
    if found := placeholders(network):
        out.append(f"{where}: edit me: {', '.join(found)} is the example's placeholder")
    if not network.host.strip():
        out.append(f"{where}: host is empty: give the IRC server's name")
    if not network.tls and network.port in TLS_PORTS:
        out.append(
            f"{where}: tls = false on port {network.port}, a TLS port: "
            "the server will not understand us (tls = true, or port = 6667)"
        )
    if network.tls and network.port in PLAIN_PORTS:
        out.append(
            f"{where}: tls = true on port {network.port}, a plain-text port: "
            "the handshake will fail (tls = false, or port = 6697)"
        )
    return out


def warnings(settings: Settings) -> list[str]:
    """What is valid but likely not meant, one line each."""
    out = []
    if not settings.networks:
        out.append(f"no [[networks]]: `highlightd run` has nothing to listen to ({INIT_HINT})")
    for index, network in enumerate(settings.networks):
        out += _network_warnings(index, network)
    public = str(settings.web.public_url or "")
    if public and _is_example_host(public.split("://", 1)[-1].split("/", 1)[0].split(":")[0]):
        out.append(f"web.public_url {public} is the example's placeholder: Twilio cannot call it")
    if settings.sms.backend == "twilio" and not public:
        out.append("web.public_url is not set: every Twilio webhook (your SMS answers) gets 403")
    return out


def storage_problem(settings: Settings, config_file: Path | None) -> str | None:
    """Why the database may not be created where storage.path says, or None.

    A missing folder is created only under the config file's own folder: anywhere
    else it is more likely a typo than a wish.
    """
    folder = settings.storage.path.resolve().parent
    if folder.is_dir():
        return None
    if config_file is not None and folder.is_relative_to(config_file.resolve().parent):
        return None
    return (
        f"storage folder {folder} does not exist: create it (mkdir -p {folder}) "
        "or point storage.path at an existing folder"
    )


def refuse_to_run(settings: Settings, config_file: Path | None, role: str) -> None:
    """Raise UsageError when `run` cannot do anything useful with this config."""
    source = str(config_file) if config_file else "the built-in defaults"
    if not settings.networks and role != "web":
        if config_file is None:
            raise UsageError(
                f"no config file found (looked in {looked_in()}) and no network to join: "
                f"write one with `{INIT_HINT}`, or pass --config PATH"
            )
        raise UsageError(f"{source} has no [[networks]]: nothing to join (see {INIT_HINT})")
    for index, network in enumerate(settings.networks):
        if found := placeholders(network):
            raise UsageError(
                f"{source}: networks[{index}] ({network.name}) still has the example's "
                f"{found[0]}: edit it, or write a config with `{INIT_HINT}`"
            )
    if problem := storage_problem(settings, config_file):
        raise UsageError(problem)
