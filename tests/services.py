"""A services network for tests: InspIRCd 3 linked to Atheme 7 (NickServ, SaslServ), with TLS.

One network per test session (fixture `services_network` in conftest.py), started in well under a
second; each test makes its own accounts, so tests do not see each other. Public API (stable):

    services_network: ServicesNetwork   # session fixture; skips the test when not installed
      .host                  "127.0.0.1"
      .port / .tls_port      plain and TLS client ports with InspIRCd's normal limits (the bot)
      .test_port             plain client port without flood limits (test clients)
      .self_signed_port      TLS port whose certificate is self-signed (must be refused)
      .wrong_name_port       TLS port whose certificate is CA-signed for "wrong.invalid"
      .ca_file               PEM of the session's private CA (trusted by `tls_port` clients)
      .server_name           "irc.services.test"; .network "HighlightTest"
      .startup_seconds       how long start() took (files, certificates, both daemons, netburst)
      .unique(prefix)        a fresh name (nick/account) for this session
      .client_cert(name)     a new self-signed client certificate (certs.Cert: cert, key,
                             fingerprint) for CertFP
      await .register(prefix="acct", cert=None) -> Account(name, password)
                             a new NickServ account (REGISTER, no e-mail confirmation); with
                             `cert`, its fingerprint is added too (NickServ CERT ADD)
      await .connect(nick, *, tls=False, account=None, cert=None, port=None) -> IrcTestClient
                             a registered raw client (servers.IrcTestClient); with `account`
                             it logs in with SASL PLAIN, with `cert` (and no account) with SASL
                             EXTERNAL; port defaults to test_port (tls_port with tls=True)
    services_client: factory fixture, same arguments as .connect; closes its clients

Skipped, with the reason, where inspircd, atheme-services or openssl is missing
(scripts/install-test-servers.sh installs them as root).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import os
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from certs import Cert, PrivateCa, openssl_available, self_signed
from servers import START_TIMEOUT, IrcTestClient, ParsedLine, _Process, _wait, free_port
from services_conf import atheme_conf, inspircd_conf

INSPIRCD = "/usr/sbin/inspircd"
ATHEME = "/usr/bin/atheme-services"
RUNNING = "is now running as"  # InspIRCd, once it listens
SYNCED = "finished synching with uplink"  # Atheme, once the netburst both ways is over


def unavailable_reason() -> str | None:
    """Why the services network cannot run here, or None."""
    missing = [path for path in (INSPIRCD, ATHEME) if not os.access(path, os.X_OK)]
    if not openssl_available():
        missing.append("openssl")
    if missing:
        return (
            f"services tests need {', '.join(missing)}: run scripts/install-test-servers.sh "
            "as root (Debian packages inspircd and atheme-services)"
        )
    return None


class _Daemon(_Process):
    """A _Process in its own folder that never leaves a core file behind."""

    def spawn(self) -> None:
        if self.proc is not None:
            raise RuntimeError(f"{self.name} is already running")
        # ulimit in a shell that then execs: the PID stays the daemon's (no preexec_fn in a
        # process with threads).
        command = ["/bin/sh", "-c", 'ulimit -c 0 && exec "$@"', "sh", *self.command]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, cwd=self.log_path.parent
            )


@dataclass(frozen=True)
class Account:
    name: str
    password: str


class ServicesNetwork:
    server_name = "irc.services.test"
    services_name = "services.test"
    network = "HighlightTest"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.host = "127.0.0.1"
        self.port, self.tls_port, self.test_port = free_port(), free_port(), free_port()
        self.self_signed_port, self.wrong_name_port = free_port(), free_port()
        self.link_port = free_port()
        self.startup_seconds = 0.0
        self._names = itertools.count(1)
        self._tag = f"{os.getpid() % 10000}"
        self.ca: PrivateCa | None = None  # made by start()
        self._inspircd = _Daemon("inspircd", [], workdir / "inspircd.out")
        self._atheme = _Daemon("atheme", [], workdir / "atheme" / "atheme.out")

    @property
    def ca_file(self) -> Path:
        assert self.ca is not None, "start() first"
        return self.ca.ca_file

    def _write_config(self) -> None:
        certs = self.workdir / "certs"
        self.ca = PrivateCa.create(certs)
        good = self.ca.issue("server", [self.host, "localhost"])
        wrong = self.ca.issue("wrong-name", ["wrong.invalid"])
        alone = self_signed(certs, "self-signed", [self.host, "localhost"])
        (self.workdir / "motd.txt").write_text("highlightd services test network\n")
        values = {
            "server_name": self.server_name,
            "services_name": self.services_name,
            "network": self.network,
            "host": self.host,
            "port": self.port,
            "tls_port": self.tls_port,
            "test_port": self.test_port,
            "self_signed_port": self.self_signed_port,
            "wrong_name_port": self.wrong_name_port,
            "link_port": self.link_port,
            "link_password": "linkpass",
            "workdir": self.workdir,
            "good_cert": good.cert,
            "good_key": good.key,
            "self_cert": alone.cert,
            "self_key": alone.key,
            "wrong_cert": wrong.cert,
            "wrong_key": wrong.key,
        }
        conf = self.workdir / "inspircd.conf"
        conf.write_text(inspircd_conf(**values))
        self._inspircd.command = [INSPIRCD, "--runasroot", "--nofork", "--config", str(conf)]
        atheme_dir = self.workdir / "atheme"
        atheme_dir.mkdir(exist_ok=True)
        (atheme_dir / "atheme.conf").write_text(atheme_conf(**values))
        self._atheme.command = [ATHEME, "-n", "-c", str(atheme_dir / "atheme.conf")]
        self._atheme.command += ["-D", str(atheme_dir), "-p", str(atheme_dir / "atheme.pid")]
        self._atheme.command += ["-l", str(atheme_dir / "atheme.log")]

    def _log_says(self, daemon: _Daemon, text: str) -> bool:
        daemon.check_alive()
        return text in daemon.log_path.read_text(errors="replace")

    def start(self) -> None:
        began = time.monotonic()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._write_config()
        self._inspircd.spawn()
        try:
            _wait(lambda: self._log_says(self._inspircd, RUNNING), "inspircd", START_TIMEOUT)
            self._atheme.spawn()
            _wait(lambda: self._log_says(self._atheme, SYNCED), "atheme link", START_TIMEOUT)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began

    def stop(self) -> None:
        self._atheme.stop()
        self._inspircd.stop()

    def unique(self, prefix: str) -> str:
        return f"{prefix}{self._tag}x{next(self._names)}"

    def client_cert(self, name: str) -> Cert:
        return self_signed(self.workdir / "client-certs", self.unique(name))

    def tls_context(self, cert: Cert | None = None) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        if cert is not None:
            context.load_cert_chain(str(cert.cert), str(cert.key))
        return context

    async def connect(
        self,
        nick: str,
        *,
        tls: bool = False,
        account: Account | None = None,
        cert: Cert | None = None,
        port: int | None = None,
    ) -> IrcTestClient:
        context = self.tls_context(cert) if tls or cert else None
        port = port or (self.tls_port if context else self.test_port)
        reader, writer = await asyncio.open_connection(self.host, port, ssl=context)
        client = IrcTestClient(reader, writer, nick)
        try:
            await _register(client, nick, account, "EXTERNAL" if cert and not account else None)
        except BaseException:
            await client.close()
            raise
        return client

    async def register(self, prefix: str = "acct", *, cert: Cert | None = None) -> Account:
        account = Account(self.unique(prefix), f"pw-{self.unique('secret')}")
        client = await self.connect(account.name)
        try:
            email = f"{account.name}@example.com"
            await _nickserv(client, f"REGISTER {account.password} {email}", "registered")
            if cert is not None:
                await _nickserv(client, f"CERT ADD {cert.fingerprint}", "Added fingerprint")
        finally:
            await client.quit()
        return account


async def _nickserv(client: IrcTestClient, command: str, success: str) -> None:
    await client.privmsg("NickServ", command)
    reply = await client.expect(
        lambda line: line.command == "NOTICE" and line.nick == "NickServ" and line.params[0] != "*"
    )
    if success not in reply.text:
        raise AssertionError(f"NickServ {command.split()[0]} failed: {reply.text}")


def _plain(account: Account) -> str:
    raw = f"{account.name}\0{account.name}\0{account.password}".encode()
    return base64.b64encode(raw).decode()


async def _register(
    client: IrcTestClient, nick: str, account: Account | None, mechanism: str | None
) -> None:
    sasl = account is not None or mechanism is not None
    if sasl:
        await client.send_raw("CAP REQ :sasl")
    await client.send_raw(f"NICK {nick}")
    await client.send_raw(f"USER {nick} 0 * :highlightd test client")
    if sasl:
        await client.expect(lambda line: line.command == "CAP" and line.params[1] == "ACK")
        await client.send_raw(f"AUTHENTICATE {mechanism or 'PLAIN'}")
        await client.expect(lambda line: line.command == "AUTHENTICATE")
        await client.send_raw(f"AUTHENTICATE {_plain(account) if account else '+'}")
        done = await client.expect(lambda line: line.command in ("903", "904", "905", "906"))
        if done.command != "903":
            raise AssertionError(f"SASL login refused: {done.raw}")
        await client.send_raw("CAP END")
    welcome: ParsedLine = await client.expect(lambda line: line.command in ("001", "432", "433"))
    if welcome.command != "001":
        raise AssertionError(f"registration as {nick!r} refused: {welcome.raw}")
    client.nick = welcome.params[0]


class ServicesClients(Protocol):
    """The `services_client` fixture: ServicesNetwork.connect, with the clients closed after."""

    async def __call__(
        self,
        nick: str,
        *,
        tls: bool = False,
        account: Account | None = None,
        cert: Cert | None = None,
        port: int | None = None,
    ) -> IrcTestClient: ...
