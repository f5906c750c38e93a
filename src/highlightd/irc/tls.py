"""The TLS side of a network's connection: whom we trust, and who we are (CertFP).

pydle 1.2.0 builds its own SSLContext from the system's CAs only (`SSL_CERT_FILE` was the
one way to trust a private CA) and does not verify unless told to; `PydleClient` connects
with the context made here instead (see docs/library-notes.md).
"""

from __future__ import annotations

import ssl

from highlightd.config import NetworkSettings


def tls_context(s: NetworkSettings) -> ssl.SSLContext:
    """Verification on unless `tls_verify = false`; `tls_ca_file` replaces the system's CAs."""
    if s.tls_ca_file is not None:
        context = ssl.create_default_context(cafile=str(s.tls_ca_file))
    else:
        context = ssl.create_default_context()
    if not s.tls_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if s.tls_client_cert is not None:
        key = str(s.tls_client_key) if s.tls_client_key is not None else None
        context.load_cert_chain(str(s.tls_client_cert), key)
    return context


# OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH and X509_V_ERR_IP_ADDRESS_MISMATCH
NAME_MISMATCH = frozenset({62, 64})


def refusal(s: NetworkSettings, exc: ssl.SSLCertVerificationError) -> str:
    """One line on why the server's certificate was refused, and what to do about it."""
    reason = (exc.verify_message or exc.reason or str(exc)).rstrip(".")
    where = f"TLS certificate of {s.host}:{s.port} refused"
    if exc.verify_code in NAME_MISMATCH:
        return f"{where}: not issued for {s.host!r} ({reason}); set host to a name it holds"
    trusted = f"the CA in {s.tls_ca_file}" if s.tls_ca_file else "the system's CAs"
    return (
        f"{where} ({reason}; checked against {trusted}): set tls_ca_file to the CA that signed it"
    )
