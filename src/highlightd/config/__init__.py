"""Settings: one typed object, loaded once from TOML with HIGHLIGHTD_* environment overrides.

`settings` holds what may be configured; `loading` finds and reads the file and
words each problem by its key path and source.
"""

from __future__ import annotations

from highlightd.config.loading import (
    DEFAULT_CONFIG,
    ConfigError,
    config_path,
    find_config,
    load_settings,
)
from highlightd.config.settings import (
    Channel,
    DefaultsSettings,
    FormKey,
    LogSettings,
    NetworkPolicy,
    NetworkSettings,
    Nick,
    Phone,
    PolicySettings,
    RedisSettings,
    Region,
    RelaySettings,
    Settings,
    SmsSettings,
    StorageSettings,
    Timezone,
    TwilioSettings,
    WebSettings,
)

__all__ = [
    "DEFAULT_CONFIG",
    "Channel",
    "ConfigError",
    "DefaultsSettings",
    "FormKey",
    "LogSettings",
    "NetworkPolicy",
    "NetworkSettings",
    "Nick",
    "Phone",
    "PolicySettings",
    "RedisSettings",
    "Region",
    "RelaySettings",
    "Settings",
    "SmsSettings",
    "StorageSettings",
    "Timezone",
    "TwilioSettings",
    "WebSettings",
    "config_path",
    "find_config",
    "load_settings",
]
