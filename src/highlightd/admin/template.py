"""The commented config file: `highlightd init` writes it, config.example.toml is it with
a placeholder network (a test keeps the two the same)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from highlightd.admin import AdminError, UsageError
from highlightd.config import NetworkSettings

# The example's network: valid, so the example loads, and never a real network
# where every trial bot would sit with the same nick.
PLACEHOLDER_NAME = "example"
PLACEHOLDER_HOST = "irc.example.net"
PLACEHOLDER_NICK = "CHANGE-ME"
PLACEHOLDER_CHANNEL = "#CHANGE-ME"
PLACEHOLDER_BANNER = """\
# EDIT ME: this network is a placeholder (check-config warns until you change it).
"""

EXAMPLE_HEADER = """\
# highlightd configuration. Copy to highlightd.toml and edit [[networks]], or let
# `highlightd init --network NAME --host HOST --nick NICK --channel '#chan'` write one.
"""
INIT_HEADER = """\
# highlightd configuration, written by `highlightd init`.
"""

BODY = """\
# Every key can also be set from the environment as HIGHLIGHTD_<SECTION>__<KEY>,
# e.g. HIGHLIGHTD_TWILIO__AUTH_TOKEN=... (keeps secrets out of this file).
# `highlightd check-config` tells what is wrong, by key path.

[defaults]
# region = "US"                      # lets users REGISTER national numbers like (555) 123-0001

[storage]
path = "highlightd.sqlite3"          # SQLite database; the embedded Redis lives beside it
retention_days = 30                  # SMS texts and logs older than this are deleted daily

[redis]
url = "embedded"                     # a private Valkey on a unix socket; or "redis://host:6379/0"

[web]
host = "127.0.0.1"
port = 8080
# The public base URL Twilio calls (your reverse proxy). Signatures are checked
# against it; until it is set, every webhook call is refused with 403.
# public_url = "https://sms.example.org"
# header_timeout = 10                # seconds for a whole request header (and idle connections)
# body_timeout = 10                  # seconds for a request body, else 408
# max_connections = 1000             # past it, the oldest idle connection makes room
# extra_form_keys = []               # webhook fields Twilio added later, accepted and ignored

[sms]
backend = "console"                  # prints each SMS to the log; "twilio" sends for real
# Countries verification codes may be texted to; [] means any. Unset: defaults.region,
# else the country of twilio.from_number, else any (the console backend).
# allowed_countries = ["US", "CA"]
# max_delay = 3600                   # seconds an SMS may wait for Twilio before it is given up
# retry_delay = 1                    # seconds before a failed send is tried again,
# retry_delay_max = 30               #   doubling up to this

[relay]                              # SMS answers on their way to IRC
# consumer = "irc-main"              # Redis consumer name; default: an id kept in the database
max_delay = 3600                     # network down this long: the answer is bounced to its sender
claim_after = 60                     # answers a gone consumer had taken are taken over after this
republish_after = 300                # unconfirmed by IRC this long: on the bus again

[log]
level = "INFO"                       # DEBUG shows every policy decision; SIGHUP applies a change

# [twilio]                           # `highlightd sms test --to +1555...` tries it
# account_sid = "ACxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
# auth_token = "..."                 # better: HIGHLIGHTD_TWILIO__AUTH_TOKEN
# from_number = "+15005550006"
# api_base_url = "https://api.twilio.com"
# timeout = 15                       # seconds for one API request, in total

[policy]                             # see "Notification policy" in README.md
cooldown = 300                       # after an SMS, highlights wait this long, then one digest
active_window = 300                  # present and spoke this recently (not /away): no SMS
mass_highlight = 5                   # a line naming this many nicks is spam
ignore_nicks = []                    # added to the built-in list of services and bots
user_daily_segments = 20             # budgets; past them, highlights wait for tomorrow's digest
global_daily_segments = 500
max_segments = 1
timezone = "UTC"                     # the day budgets count in
daily_codes = 50                     # REGISTER codes in 24 hours, for everyone (0: REGISTER off)

"""

NETWORK = """\
{banner}[[networks]]
name = {name:<29} # a short name of your choice{edit}
host = {host:<29} # the IRC server{edit}
port = {port}
tls = {tls}
# tls_verify = true                  # certificates are verified unless you say false
# tls_ca_file = "/etc/highlightd/ca.pem"   # trust this CA (PEM), not the system's
# tls_client_cert = "/etc/highlightd/bot.pem"  # CertFP: a client certificate, and
# tls_client_key = "/etc/highlightd/bot.key"   #   its key (SASL EXTERNAL without a password)
nick = {nick:<29} # the bot's nick: one nobody else uses{edit}
channels = {channels:<25} # the channels it sits in{edit}
# sasl_username = "highlightd"       # SASL PLAIN, with sasl_password
# sasl_password = "..."
# sasl_required = true               # with SASL: never run without the account
# require_account = false            # REGISTER only from users logged in to services
# send_burst = 5                     # flood control: burst of lines,
# send_rate = 1.0                    #   then this many lines per second
# ping_interval = 60                 # seconds of server silence before we PING
# [networks.policy]                  # this network's changes to [policy]
# cooldown = 600
"""


@dataclass(frozen=True, slots=True)
class NetworkChoice:
    name: str
    host: str
    nick: str
    channels: tuple[str, ...]
    port: int = 6697
    tls: bool = True


EXAMPLE = NetworkChoice(
    PLACEHOLDER_NAME, PLACEHOLDER_HOST, PLACEHOLDER_NICK, (PLACEHOLDER_CHANNEL,)
)


def render(network: NetworkChoice, header: str = INIT_HEADER) -> str:
    """The whole commented file with this network; the example's says what to edit."""
    example = network == EXAMPLE
    edit = " (EDIT ME)" if example else ""
    banner = PLACEHOLDER_BANNER if example else ""
    return (
        header
        + BODY
        + NETWORK.format(
            name=json.dumps(network.name),
            host=json.dumps(network.host),
            port=network.port,
            tls=str(network.tls).lower(),
            nick=json.dumps(network.nick),
            channels=json.dumps(list(network.channels)),
            edit=edit,
            banner=banner,
        )
    )


def example_text() -> str:
    """What config.example.toml holds."""
    return render(EXAMPLE, EXAMPLE_HEADER)


_OPTIONS = {"name": "network", "channels": "channel"}  # the field's option, where they differ


def write_init(path: Path, network: NetworkChoice, force: bool) -> str:
    """`highlightd init`: write a config for one network; the line to print."""
    try:
        NetworkSettings(
            name=network.name,
            host=network.host,
            port=network.port,
            tls=network.tls,
            nick=network.nick,
            channels=list(network.channels),
        )
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        option = _OPTIONS.get(str(first["loc"][0]), str(first["loc"][0]))
        why = str(first["msg"]).removeprefix("Value error, ")
        raise UsageError(f"--{option}: {why}") from None
    if not network.host.strip():
        raise UsageError("--host: give the IRC server's name, like irc.libera.chat")
    if path.exists() and not force:
        raise AdminError(f"{path} exists; --force overwrites it")
    try:
        path.write_text(render(network), encoding="utf-8")
    except OSError as exc:
        raise AdminError(f"cannot write {path}: {exc.strerror}") from exc
    where = f"{network.host}:{network.port}{' (TLS)' if network.tls else ''}"
    chans = ", ".join(network.channels) or "no channels"
    return (
        f"wrote {path}: network {network.name} at {where} as {network.nick}, in {chans}.\n"
        f"Next: highlightd check-config --config {path}, then highlightd run --config {path}"
    )
