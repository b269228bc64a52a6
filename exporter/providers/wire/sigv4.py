"""AWS Signature Version 4, header form, written from AWS's published algorithm.

Checked against vectors of AWS's ``aws-sig-v4-test-suite`` (see
tests/providers/test_sigv4.py). The steps, in AWS's words:

1. canonical request: method, canonical URI, canonical query, canonical headers,
   signed header names, hex SHA-256 of the payload, joined by newlines;
2. string to sign: ``AWS4-HMAC-SHA256``, the timestamp, the credential scope
   (``date/region/service/aws4_request``) and the hex SHA-256 of step 1;
3. signing key: HMAC-SHA256 chained over date, region, service and ``aws4_request``,
   starting from ``"AWS4" + secret``; the signature is HMAC(key, string to sign).

Services other than S3 encode each path segment a second time in the canonical URI
(the path on the wire is already percent-encoded); Bedrock model ids contain ``:``,
so this matters for every probe.

The URL is taken apart by ``exporter.transport.urls.split_url``, the probe client's own
parser, and not by an HTTP library's: the Host and the path signed here are then exactly
the Host header and request target the client sends (httpx and the client could differ
on a default port or an escape, and a signature over other bytes is refused).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote, unquote

from exporter.transport.urls import split_url

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
# Headers a proxy may rewrite; signing them would break the signature in transit.
_UNSIGNED = frozenset({"authorization", "user-agent", "expect", "x-amzn-trace-id", "connection"})


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Credentials | None:
        """The standard AWS variables, or None when the key pair is not set."""
        key, secret = environ.get("AWS_ACCESS_KEY_ID"), environ.get("AWS_SECRET_ACCESS_KEY")
        if not key or not secret:
            return None
        return cls(key, secret, environ.get("AWS_SESSION_TOKEN") or None)

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.secret_access_key, self.session_token) if s)


def canonical_uri(raw_path: str) -> str:
    """The wire path (already percent-encoded) encoded once more, ``/`` kept."""
    return quote(raw_path or "/", safe="/~")


def canonical_query(raw_query: str) -> str:
    """Parameters decoded, re-encoded with only unreserved characters left bare, sorted."""
    pairs = []
    for item in raw_query.split("&") if raw_query else []:
        name, _, value = item.partition("=")
        pairs.append((_encode(unquote(name)), _encode(unquote(value))))
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def canonical_headers(headers: Mapping[str, str]) -> tuple[str, str]:
    """(the canonical header block, the ``;``-joined signed names)."""
    values = {name.lower(): " ".join(value.split()) for name, value in headers.items()}
    names = sorted(values)
    block = "".join(f"{name}:{values[name]}\n" for name in names)
    return block, ";".join(names)


def canonical_request(
    method: str, uri: str, query: str, headers: Mapping[str, str], payload_hash: str
) -> str:
    block, signed = canonical_headers(headers)
    return "\n".join((method.upper(), uri, query, block, signed, payload_hash))


def credential_scope(amz_date: str, region: str, service: str) -> str:
    return f"{amz_date[:8]}/{region}/{service}/aws4_request"


def string_to_sign(amz_date: str, scope: str, creq: str) -> str:
    digest = hashlib.sha256(creq.encode("utf-8")).hexdigest()
    return "\n".join((ALGORITHM, amz_date, scope, digest))


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = ("AWS4" + secret).encode("utf-8")
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


def authorization(credentials: Credentials, scope: str, signed_headers: str, sts: str) -> str:
    """The Authorization header value for a string to sign under ``scope``."""
    date, region, service, _ = scope.split("/")
    key = signing_key(credentials.secret_access_key, date, region, service)
    signature = hmac.new(key, sts.encode("utf-8"), hashlib.sha256).hexdigest()
    return (
        f"{ALGORITHM} Credential={credentials.access_key_id}/{scope}, "
        f"SignedHeaders={signed_headers}, Signature={signature}"
    )


def sign(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    credentials: Credentials,
    *,
    region: str,
    service: str,
    now: datetime,
) -> dict[str, str]:
    """``headers`` plus Host, X-Amz-Date, the session token and Authorization.

    Raises ValueError (worded to follow the URL) when ``url`` cannot be requested.
    """
    origin, target = split_url(url)
    amz_date = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    signed = {k: v for k, v in headers.items() if k.lower() not in _UNSIGNED}
    signed["host"] = origin.authority
    signed["x-amz-date"] = amz_date
    if credentials.session_token:
        signed["x-amz-security-token"] = credentials.session_token
    path, _, query = target.partition("?")
    creq = canonical_request(
        method,
        canonical_uri(path),
        canonical_query(query),
        signed,
        hashlib.sha256(body).hexdigest(),
    )
    scope = credential_scope(amz_date, region, service)
    _, names = canonical_headers(signed)
    auth = authorization(credentials, scope, names, string_to_sign(amz_date, scope, creq))
    out = {k: v for k, v in headers.items() if k.lower() != "authorization"}
    out.update({k: v for k, v in signed.items() if k != "host"})
    out["Authorization"] = auth
    return out


def _encode(text: str) -> str:
    return quote(text, safe="-_.~")
