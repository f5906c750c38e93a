"""What may be configured: each section, its defaults and its checks."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    FilePath,
    HttpUrl,
    SecretStr,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from highlightd.core.clock import check_timezone
from highlightd.core.ircnames import check_channel, check_nick
from highlightd.core.phones import check_region, home_region, parse_phone


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


class DefaultsSettings(_Section):
    # Lets users REGISTER a national number ("(555) 123-0001") instead of +1...
    region: Annotated[str, AfterValidator(check_region)] | None = None


class StorageSettings(_Section):
    path: Path = Path("highlightd.sqlite3")
    # SMS bodies and logs older than this are deleted (daily); 2 keeps today's budgets.
    retention_days: int = Field(default=30, ge=2)


class RedisSettings(_Section):
    url: Annotated[str, AfterValidator(_redis_url)] = "embedded"


# A form field name as Twilio writes them (CamelCase), for web.extra_form_keys.
FormKey = Annotated[str, Field(pattern=r"^[A-Z][A-Za-z0-9]{0,63}$")]
Region = Annotated[str, AfterValidator(check_region)]


class WebSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    # The base URL Twilio calls; signatures are computed over it, never over request.url.
    public_url: HttpUrl | None = None
    max_body: int = Field(default=64 * 1024, gt=0)
    # Slow clients: a connection must send a whole request header within header_timeout
    # (and, idle between requests, is closed after it); a body must arrive within body_timeout.
    header_timeout: float = Field(default=10.0, gt=0)
    body_timeout: float = Field(default=10.0, gt=0)
    # Past this many open connections, the oldest idle one is closed for the new one.
    max_connections: int = Field(default=1000, ge=16)
    # Form fields Twilio added after this release, accepted (and ignored) in its webhooks.
    extra_form_keys: list[FormKey] = []


class LogSettings(_Section):
    # `run --log-level` wins over it; SIGHUP applies a changed one.
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class SmsSettings(_Section):
    backend: Literal["twilio", "console"] = "console"
    # Countries (ISO 3166 codes) verification codes may be texted to; [] means any.
    # Unset: defaults.region's, else twilio.from_number's, else any (see Settings.code_regions).
    allowed_countries: list[Region] | None = None
    # An SMS still not out this long after it was decided is given up: one log line,
    # and highlightd_sms_sent{result="expired"}.
    max_delay: float = Field(default=3600.0, gt=0)
    # A failed send is tried again after retry_delay seconds, doubling up to retry_delay_max.
    retry_delay: float = Field(default=1.0, gt=0)
    retry_delay_max: float = Field(default=30.0, gt=0)


class RelaySettings(_Section):
    """SMS answers on their way to IRC: who reads them off the bus, how long they may wait."""

    # This installation's name in the stream's consumer group. By default an id made
    # once and kept in the database: a new hostname (a new container) is the same consumer.
    consumer: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")] | None = None
    # An answer whose network stays unreachable this long is given up; its sender is told.
    max_delay: float = Field(default=3600.0, gt=0)
    # Entries a consumer took and left unacknowledged this long are taken over.
    claim_after: float = Field(default=60.0, gt=0)
    # An answer the IRC side has not confirmed this long after it went on the bus goes
    # on it again (at once when Redis restarted or lost its data).
    republish_after: float = Field(default=300.0, gt=0)


class TwilioSettings(_Section):
    account_sid: Annotated[str, Field(pattern=r"^AC[0-9a-fA-F]{32}$")]
    auth_token: SecretStr
    from_number: Phone
    api_base_url: HttpUrl = HttpUrl("https://api.twilio.com")
    timeout: float = Field(default=15.0, gt=0)


Timezone = Annotated[str, AfterValidator(check_timezone)]


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
    # Verification codes (REGISTER) sent in 24 hours, by everyone; 0 turns REGISTER off.
    # A budget of its own: codes never spend the segment budgets above.
    daily_codes: int = Field(default=50, ge=0)


class NetworkPolicy(_Section):
    """Per-network changes to [policy]; what is not set here comes from [policy]."""

    cooldown: float | None = Field(default=None, ge=0)
    active_window: float | None = Field(default=None, ge=0)
    mass_highlight: int | None = Field(default=None, ge=2)
    ignore_nicks: list[Nick] = []
    max_segments: int | None = Field(default=None, ge=1, le=10)


def _check_pem(ca_file: Path | None, cert: Path | None, key: Path | None) -> None:
    """The TLS files load now, not at the first connection."""
    context = ssl.create_default_context()
    try:
        if ca_file is not None:
            context.load_verify_locations(cafile=str(ca_file))
    except ssl.SSLError as exc:
        raise ValueError(f"tls_ca_file {ca_file}: not a PEM CA certificate ({exc})") from None
    try:
        if cert is not None:
            context.load_cert_chain(str(cert), str(key) if key is not None else None)
    except ssl.SSLError as exc:
        raise ValueError(
            f"tls_client_cert {cert}: no certificate and matching key in PEM ({exc})"
        ) from None


class NetworkSettings(_Section):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,32}$")]
    host: str
    port: int = Field(default=6697, gt=0, le=65535)
    tls: bool = True
    tls_verify: bool = True
    # PEM file of the CA(s) that signed the server's certificate, instead of the system's.
    tls_ca_file: FilePath | None = None
    # A client certificate (CertFP): sent on TLS connections; SASL EXTERNAL when no password.
    tls_client_cert: FilePath | None = None
    tls_client_key: FilePath | None = None
    nick: Nick
    channels: list[Channel] = []
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    # Never run without the account: no SASL login, no connection. Default: true when SASL
    # (a password, or a client certificate without one) is configured.
    sasl_required: bool | None = None
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
        if self.tls_client_key is not None and self.tls_client_cert is None:
            raise ValueError("tls_client_key needs tls_client_cert")
        if self.tls_client_cert is not None and not self.tls:
            raise ValueError("tls_client_cert needs tls = true")
        if self.sasl_required and self.sasl_mechanism is None:
            raise ValueError("sasl_required needs sasl_username/sasl_password or tls_client_cert")
        _check_pem(self.tls_ca_file, self.tls_client_cert, self.tls_client_key)
        return self

    @property
    def sasl_mechanism(self) -> Literal["PLAIN", "EXTERNAL"] | None:
        """PLAIN with a password; EXTERNAL (the client certificate) without one."""
        if self.sasl_password is not None:
            return "PLAIN"
        return "EXTERNAL" if self.tls_client_cert is not None else None

    @property
    def needs_account(self) -> bool:
        """Whether a connection without a SASL login must be dropped."""
        if self.sasl_required is None:
            return self.sasl_mechanism is not None
        return self.sasl_required


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
    relay: RelaySettings = RelaySettings()
    twilio: TwilioSettings | None = None
    policy: PolicySettings = PolicySettings()
    networks: list[NetworkSettings] = []
    log: LogSettings = LogSettings()

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

    def code_regions(self) -> frozenset[str]:
        """Where verification codes may go (empty: anywhere), as sms.allowed_countries says.

        Unset, it is defaults.region; without one, the country of twilio.from_number;
        without either (the console backend), anywhere: a printed code costs nothing.
        """
        if self.sms.allowed_countries is not None:
            return frozenset(self.sms.allowed_countries)
        if self.defaults.region:
            return frozenset({self.defaults.region})
        if self.twilio is not None and (region := home_region(self.twilio.from_number)):
            return frozenset({region})
        return frozenset()
