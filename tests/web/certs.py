"""Throw-away certificates made with the ``openssl`` command line for the TLS tests.

Two independent CAs: one signs the server's certificate (for 127.0.0.1 and localhost) and
the trusted client's; the other signs a stranger's client certificate that must be refused.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from testkit.realservers import require

_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


@dataclass(frozen=True)
class Pair:
    cert: Path
    key: Path


@dataclass(frozen=True)
class Certs:
    ca: Path  # signs server and client
    server: Pair
    client: Pair
    stranger: Pair  # a client certificate from another CA
    encrypted_key: Path  # the server's key under a passphrase
    renewed_server: Pair  # the server's certificate renewed: same CA and names, a new key


def _openssl(*args: str | Path) -> None:
    subprocess.run([require("openssl"), *map(str, args)], check=True, capture_output=True)


def _ca(directory: Path, name: str) -> Pair:
    pair = Pair(directory / f"{name}.crt", directory / f"{name}.key")
    _openssl(
        "req", "-x509", *_KEY, "-keyout", pair.key, "-out", pair.cert, "-days", "2",
        "-subj", f"/CN={name}",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    return pair


def _leaf(directory: Path, name: str, ca: Pair, extensions: str) -> Pair:
    pair = Pair(directory / f"{name}.crt", directory / f"{name}.key")
    csr, ext = directory / f"{name}.csr", directory / f"{name}.ext"
    ext.write_text(extensions + "\n")
    _openssl("req", *_KEY, "-keyout", pair.key, "-out", csr, "-subj", f"/CN={name}")
    _openssl(
        "x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-CAcreateserial",
        "-days", "2", "-out", pair.cert, "-extfile", ext,
    )  # fmt: skip
    return pair


def make_certs(directory: Path) -> Certs:
    ca, other = _ca(directory, "ca"), _ca(directory, "other-ca")
    server_ext = "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth"
    client_ext = "extendedKeyUsage=clientAuth"
    server = _leaf(directory, "server", ca, server_ext)
    renewed = _leaf(directory, "renewed-server", ca, server_ext)
    encrypted = directory / "encrypted.key"
    _openssl("pkey", "-in", server.key, "-aes256", "-passout", "pass:x", "-out", encrypted)
    return Certs(
        ca=ca.cert,
        server=server,
        client=_leaf(directory, "client", ca, client_ext),
        stranger=_leaf(directory, "stranger", other, client_ext),
        encrypted_key=encrypted,
        renewed_server=renewed,
    )
