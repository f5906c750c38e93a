"""A private certificate authority for TLS tests, made with the `openssl` command-line tool.

    ca = PrivateCa.create(folder)                 # ca.pem (trust this) + its key
    server = ca.issue("server", ["127.0.0.1", "localhost"])   # signed by the CA
    wrong = ca.issue("wrong-name", ["wrong.invalid"])         # signed, but for another name
    alone = self_signed(folder, "self-signed", ["127.0.0.1", "localhost"])  # no CA at all
    client = self_signed(folder, "bot")           # a client certificate for CertFP

Every `Cert` has `cert` and `key` (PEM paths) and `fingerprint` (SHA-256, lowercase hex without
colons: how InspIRCd reports it and how NickServ CERT ADD takes it). EC P-256 keys: fast to make.
"""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

OPENSSL = "openssl"
_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
_DAYS = "2"


def openssl_available() -> bool:
    return shutil.which(OPENSSL) is not None


def _run(*args: str) -> str:
    done = subprocess.run([OPENSSL, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def _san(names: list[str]) -> str:
    entries = []
    for name in names:
        try:
            ipaddress.ip_address(name)
        except ValueError:
            entries.append(f"DNS:{name}")
        else:
            entries.append(f"IP:{name}")
    return "subjectAltName=" + ",".join(entries)


@dataclass(frozen=True)
class Cert:
    cert: Path
    key: Path

    @property
    def fingerprint(self) -> str:
        out = _run("x509", "-in", str(self.cert), "-noout", "-fingerprint", "-sha256")
        return out.strip().partition("=")[2].replace(":", "").lower()


def self_signed(folder: Path, name: str, names: list[str] | None = None) -> Cert:
    """A self-signed certificate (CN=name; subjectAltName from `names` when given)."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / f"{name}.pem", folder / f"{name}.key"
    extra = ["-addext", _san(names)] if names else []
    _run("req", "-x509", *_KEY, "-keyout", str(key), "-out", str(cert), "-days", _DAYS,
         "-subj", f"/CN={name}", *extra)  # fmt: skip
    return Cert(cert, key)


@dataclass(frozen=True)
class PrivateCa:
    """A certificate authority that exists only for this test session."""

    folder: Path
    root: Cert

    @property
    def ca_file(self) -> Path:
        return self.root.cert

    @classmethod
    def create(cls, folder: Path) -> PrivateCa:
        folder.mkdir(parents=True, exist_ok=True)
        cert, key = folder / "ca.pem", folder / "ca.key"
        _run("req", "-x509", *_KEY, "-keyout", str(key), "-out", str(cert), "-days", _DAYS,
             "-subj", "/CN=highlightd test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")  # fmt: skip
        return cls(folder, Cert(cert, key))

    def issue(self, name: str, names: list[str]) -> Cert:
        """A certificate for `names` (subjectAltName), signed by this CA."""
        cert, key = self.folder / f"{name}.pem", self.folder / f"{name}.key"
        csr, ext = self.folder / f"{name}.csr", self.folder / f"{name}.ext"
        ext.write_text(_san(names) + "\n")
        _run("req", *_KEY, "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={names[0]}")
        _run("x509", "-req", "-in", str(csr), "-CA", str(self.root.cert),
             "-CAkey", str(self.root.key), "-CAcreateserial", "-out", str(cert),
             "-days", _DAYS, "-extfile", str(ext))  # fmt: skip
        return Cert(cert, key)
