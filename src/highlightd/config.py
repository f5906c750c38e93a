"""Settings: one typed object, loaded once from TOML with HIGHLIGHTD_* environment overrides."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from highlightd.core.ircnames import check_channel, check_nick
from highlightd.core.phones import parse_phone

DEFAULT_CONFIG = Path("highlightd.toml")


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key path of each problem."""


def _redis_url(value: str) -> str:
    if value == "embedded" or value.startswith(("redis://", "rediss://", "unix://")):
        return value
    raise ValueError(f'must be "embedded" or a redis://, rediss:// or unix:// URL, not {value!r}')


Phone = Annotated[str, AfterValidator(parse_phone)]
Nick = Annotated[str, AfterValidator(check_nick)]
# Any RFC prefix: the server's own CHANTYPES are only known once connected.
Channel = Annotated[str, AfterValidator(check_channel)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _region(value: str) -> str:
    region = value.upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"not a phone region (ISO 3166 code like US or DE): {value!r}")
    return region


class DefaultsSettings(_Section):
    # Lets users REGISTER a national number ("(555) 123-0001") instead of +1...
    region: Annotated[str, AfterValidator(_region)] | None = None


class StorageSettings(_Section):
    path: Path = Path("highlightd.sqlite3")


class RedisSettings(_Section):
    url: Annotated[str, AfterValidator(_redis_url)] = "embedded"


class WebSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    # The base URL Twilio calls; signatures are computed over it, never over request.url.
    public_url: HttpUrl | None = None
    max_body: int = Field(default=64 * 1024, gt=0)


class SmsSettings(_Section):
    backend: Literal["twilio", "console"] = "console"
    # An SMS still not out this long after it was decided is given up: one log line,
    # and highlightd_sms_sent{result="expired"}.
    max_delay: float = Field(default=3600.0, gt=0)
    # A failed send is tried again after retry_delay seconds, doubling up to retry_delay_max.
    retry_delay: float = Field(default=1.0, gt=0)
    retry_delay_max: float = Field(default=30.0, gt=0)


class TwilioSettings(_Section):
    account_sid: Annotated[str, Field(pattern=r"^AC[0-9a-fA-F]{32}$")]
    auth_token: SecretStr
    from_number: Phone
    api_base_url: HttpUrl = HttpUrl("https://api.twilio.com")
    timeout: float = Field(default=15.0, gt=0)


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"not an IANA timezone (like Europe/Berlin): {value!r}") from None
    return value


Timezone = Annotated[str, AfterValidator(_timezone)]


class PolicySettings(_Section):
    """When a highlight is worth an SMS; see policy.py for the order of the rules."""

    cooldown: float = Field(default=300.0, ge=0)
    active_window: float = Field(default=300.0, ge=0)
    mass_highlight: int = Field(default=5, ge=2)
    # Added to the built-in list of services and well-known bots.
    ignore_nicks: list[Nick] = []
    user_daily_segments: int = Field(default=20, ge=1)
    global_daily_segments: int = Field(default=500, ge=1)
    max_segments: int = Field(default=1, ge=1, le=10)
    # The day that budgets count in, for users who have not set their own timezone.
    timezone: Timezone = "UTC"


class NetworkPolicy(_Section):
    """Per-network changes to [policy]; what is not set here comes from [policy]."""

    cooldown: float | None = Field(default=None, ge=0)
    active_window: float | None = Field(default=None, ge=0)
    mass_highlight: int | None = Field(default=None, ge=2)
    ignore_nicks: list[Nick] = []
    max_segments: int | None = Field(default=None, ge=1, le=10)


class NetworkSettings(_Section):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,32}$")]
    host: str
    port: int = Field(default=6697, gt=0, le=65535)
    tls: bool = True
    tls_verify: bool = True
    nick: Nick
    channels: list[Channel] = []
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    # Outgoing flood control: a token bucket of send_burst lines refilled at send_rate per second.
    send_burst: int = Field(default=5, ge=1)
    send_rate: float = Field(default=1.0, gt=0)
    # Seconds without a line from the server before we PING it ourselves.
    ping_interval: float = Field(default=60.0, gt=0)
    policy: NetworkPolicy = NetworkPolicy()
    # REGISTER only from users logged in to services (where the network tells us).
    require_account: bool = False

    @model_validator(mode="after")
    def _sasl_pair(self) -> NetworkSettings:
        if (self.sasl_username is None) != (self.sasl_password is None):
            raise ValueError("sasl_username and sasl_password go together")
        return self


class Settings(BaseSettings):
    """The whole configuration; passed down explicitly, never global."""

    model_config = SettingsConfigDict(
        env_prefix="HIGHLIGHTD_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    defaults: DefaultsSettings = DefaultsSettings()
    storage: StorageSettings = StorageSettings()
    redis: RedisSettings = RedisSettings()
    web: WebSettings = WebSettings()
    sms: SmsSettings = SmsSettings()
    twilio: TwilioSettings | None = None
    policy: PolicySettings = PolicySettings()
    networks: list[NetworkSettings] = []

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML file arrives as init arguments; the environment overrides it.
        return (env_settings, init_settings)

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.sms.backend == "twilio" and self.twilio is None:
            raise ValueError('sms.backend = "twilio" needs a [twilio] section')
        names = [n.name for n in self.networks]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"network name {name!r} is used twice")
        return self

    @property
    def data_dir(self) -> Path:
        """Where the database and the embedded Redis live."""
        return self.storage.path.resolve().parent

    def network(self, name: str) -> NetworkSettings | None:
        return next((n for n in self.networks if n.name == name), None)


def config_path(explicit: str | None) -> tuple[Path, bool]:
    """The config file to read, and whether the user named it (then it must exist)."""
    if explicit:
        return Path(explicit), True
    env = os.environ.get("HIGHLIGHTD_CONFIG")
    if env:
        return Path(env), True
    return DEFAULT_CONFIG, False


def _key_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out or "(top level)"


def _describe(exc: ValidationError) -> list[str]:
    lines = []
    for err in exc.errors(include_url=False):
        # pydantic prefixes "Value error, " to our own ValueError messages.
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        lines.append(f"{_key_path(tuple(err['loc']))}: {msg}")
    return lines


def load_settings(explicit: str | None = None) -> Settings:
    """Read the config file (if any) and the environment; raise ConfigError when unusable."""
    path, named = config_path(explicit)
    data: dict[str, Any] = {}
    # Errors name the file when there is one; values can also come from the environment.
    source = str(path) if path.is_file() else "config"
    if path.is_file():
        try:
            with path.open("rb") as fh:
                data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    elif named:
        raise ConfigError(f"{path}: no such config file")
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError("\n".join(f"{source}: {line}" for line in _describe(exc))) from exc
    except SettingsError as exc:
        # A HIGHLIGHTD_* variable holding something that is not JSON for a list or table.
        raise ConfigError(f"environment: {exc}") from exc
