"""SIGHUP: which parts of a re-read configuration apply to a running daemon.

Policy, [defaults], the log level and each network's policy and
require_account are read at each use, so they change at once. Everything else
(connections, listeners, storage, the SMS backend) is built at start: a change
there is reported and waits for a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from highlightd.config import ConfigError, Settings

log = logging.getLogger(__name__)

RELOADABLE = ("policy", "defaults", "log")
NETWORK_RELOADABLE = ("policy", "require_account")


def reread(load: Callable[[], Settings], running: Settings) -> Settings | None:
    """Load the configuration again; the settings to run on, or None when it is unusable."""
    try:
        new = load()
    except ConfigError as exc:
        log.error("SIGHUP: configuration not reloaded, the running one stays:\n%s", exc)
        return None
    settings, pending = reloaded(running, new)
    set_log_level(settings.log.level)
    if pending:
        log.warning(
            "SIGHUP: policy and log level reloaded; not applied until a restart: %s",
            ", ".join(pending),
        )
    else:
        log.info(
            "SIGHUP: policy and log level reloaded "
            "(networks, web, redis, storage, sms and twilio change only on a restart)"
        )
    return settings


def reloaded(running: Settings, new: Settings) -> tuple[Settings, list[str]]:
    """The settings to run on now, and the key paths that changed but need a restart."""
    pending = _differences(
        running.model_dump(exclude={*RELOADABLE, "networks"}),
        new.model_dump(exclude={*RELOADABLE, "networks"}),
        "",
    )
    if [n.name for n in running.networks] != [n.name for n in new.networks]:
        pending.append("networks (added, removed or renamed)")
    fresh = {n.name: n for n in new.networks}
    networks = []
    for index, network in enumerate(running.networks):
        other = fresh.get(network.name)
        if other is None:
            networks.append(network)
            continue
        pending += _differences(
            network.model_dump(exclude=set(NETWORK_RELOADABLE)),
            other.model_dump(exclude=set(NETWORK_RELOADABLE)),
            f"networks[{index}]",
        )
        networks.append(
            network.model_copy(update={k: getattr(other, k) for k in NETWORK_RELOADABLE})
        )
    update: dict[str, Any] = {k: getattr(new, k) for k in RELOADABLE}
    return running.model_copy(update={**update, "networks": networks}), pending


def _differences(old: Any, new: Any, path: str) -> list[str]:
    """Key paths where two model dumps differ (values are never part of the answer)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(old.keys() | new.keys()):
            sub = f"{path}.{key}" if path else str(key)
            out += _differences(old.get(key), new.get(key), sub)
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [
            d
            for i, (a, b) in enumerate(zip(old, new, strict=True))
            for d in _differences(a, b, f"{path}[{i}]")
        ]
    return [] if old == new else [path]


def set_log_level(level: str) -> None:
    """Set the level of highlightd's own loggers; libraries keep what --log-level named."""
    logging.getLogger("highlightd").setLevel(level)
