"""Who may read the web endpoints: basic-auth users (bcrypt hashes) and one bearer token.

One ``CredentialCheck`` guards every route of a ``WebServer`` alike. A request passes with
either a valid ``Authorization: Basic`` pair or ``Authorization: Bearer <token>``; anything
else gets 401 with a challenge for each configured scheme. Credentials never reach a log.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping

import bcrypt
import yaml

from servicekit.web.server import Request, Response
from servicekit.yamlconf import Reader, join_path

API_KEY_ENV = "LLMSCOPE_API_KEY"
DEV_TOKEN = "dev-123"  # noqa: S105 - a widely published development token, refused by default
REALM = "llmscope"
CACHE_SIZE = 256
# bcrypt reads only the first 72 bytes; htpasswd and Go's bcrypt silently do the same, so a
# longer password hashed by them must still match here (python-bcrypt would raise instead).
_BCRYPT_MAX = 72
_BCRYPT_RE = re.compile(r"^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$")
_BCRYPT_HINT = "not a bcrypt hash (make one with: htpasswd -nBC 10 \"\" | tr -d ':\\n')"


def bcrypt_cost(hashed: str) -> int | None:
    """The cost of a well-formed bcrypt hash (4..31), else None."""
    match = _BCRYPT_RE.match(hashed)
    if match is None:
        return None
    cost = int(match.group(1))
    return cost if 4 <= cost <= 31 else None


def read_users(reader: Reader, node: yaml.Node | None) -> dict[str, str]:
    """``basic_auth_users``: user name -> bcrypt hash; problems go to ``reader``."""
    if node is None or (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")):
        return {}
    if not isinstance(node, yaml.MappingNode):
        reader.fail(node, "basic_auth_users", "expected a mapping of user name to bcrypt hash")
        return {}
    users: dict[str, str] = {}
    for key_node, value_node in node.value:
        name = key_node.value if isinstance(key_node, yaml.ScalarNode) else ""
        path = join_path("basic_auth_users", str(name))
        if not isinstance(name, str) or not name or ":" in name:
            # RFC 7617: the first colon ends the user name.
            reader.fail(key_node, path, "user names must be non-empty and contain no colon")
        elif name in users:
            reader.fail(key_node, path, "user given twice")
        else:
            hashed = reader.string(value_node, path)
            if hashed is not None and bcrypt_cost(hashed) is None:
                reader.fail(value_node, path, _BCRYPT_HINT)  # the hash itself is not echoed
            elif hashed is not None:
                users[name] = hashed
    return users


def token_problems(token: str, allow_dev_token: bool) -> list[str]:
    """What is wrong with the ``LLMSCOPE_API_KEY`` token; messages never quote it."""
    if not all(33 <= ord(c) <= 126 for c in token):
        return [f"{API_KEY_ENV}: must be printable ASCII without spaces"]
    if token == DEV_TOKEN and not allow_dev_token:
        return [
            f"{API_KEY_ENV}: refusing the development token dev-123; "
            "set a secret token, or pass --web.allow-dev-token for local development"
        ]
    return []


class _SuccessCache:
    """A bounded LRU of credential digests that bcrypt already accepted.

    Prometheus sends the same pair on every scrape; without the cache each scrape would
    cost a full bcrypt. Keys are HMACs under a per-process random key, so the cache holds
    nothing that could be brute-forced offline faster than the bcrypt hashes themselves.
    """

    def __init__(self, size: int) -> None:
        self._key = os.urandom(32)
        self._size = size
        self._entries: OrderedDict[bytes, None] = OrderedDict()
        self._lock = threading.Lock()

    def digest(self, user: str, password: bytes) -> bytes:
        return hmac.new(self._key, user.encode() + b"\0" + password, hashlib.sha256).digest()

    def __contains__(self, digest: bytes) -> bool:
        with self._lock:
            if digest in self._entries:
                self._entries.move_to_end(digest)
                return True
            return False

    def add(self, digest: bytes) -> None:
        with self._lock:
            self._entries[digest] = None
            self._entries.move_to_end(digest)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


class CredentialCheck:
    """The ``Authenticator`` for ``WebServer``: basic-auth users and/or a bearer token."""

    def __init__(
        self,
        users: Mapping[str, str],
        token: str | None = None,
        *,
        cache_size: int = CACHE_SIZE,
    ) -> None:
        if not users and not token:
            raise ValueError("CredentialCheck needs users or a token")
        self._users = {name: hashed.encode() for name, hashed in users.items()}
        # Only a digest of the token is kept; comparing digests also hides the token's length.
        self._token = hashlib.sha256(token.encode()).digest() if token else None
        self.cache = _SuccessCache(cache_size)
        # One bcrypt at a time, as exporter-toolkit does: a flood of wrong passwords then
        # costs one core, and cached (legitimate) scrapes never wait for the lock.
        self._bcrypt_lock = threading.Lock()
        self._decoy = self._decoy_hash() if users else b""
        schemes = (["Basic"] if users else []) + (["Bearer"] if token else [])
        self._denied = Response(
            401,
            "text/plain; charset=utf-8",
            b"unauthorized\n",
            {"WWW-Authenticate": ", ".join(f'{s} realm="{REALM}"' for s in schemes)},
        )

    def _decoy_hash(self) -> bytes:
        # An unknown user is checked against a hash of the same cost as the real ones,
        # so response time does not tell which user names exist.
        cost = max(bcrypt_cost(h.decode()) or 10 for h in self._users.values())
        return bcrypt.hashpw(os.urandom(16), bcrypt.gensalt(rounds=cost))

    def check(self, request: Request) -> Response | None:
        scheme, _, credentials = request.headers.get("authorization", "").strip().partition(" ")
        credentials = credentials.strip()
        scheme = scheme.lower()
        if scheme == "bearer" and self._token is not None and self._bearer_ok(credentials):
            return None
        if scheme == "basic" and self._users and self._basic_ok(credentials):
            return None
        return self._denied

    def _bearer_ok(self, presented: str) -> bool:
        assert self._token is not None
        digest = hashlib.sha256(presented.encode("utf-8", "surrogateescape")).digest()
        return hmac.compare_digest(digest, self._token)

    def _basic_ok(self, credentials: str) -> bool:
        try:
            raw = base64.b64decode(credentials, validate=True)
            user_bytes, sep, password = raw.partition(b":")
            user = user_bytes.decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return False
        if not sep:
            return False
        key = self.cache.digest(user, password)
        if key in self.cache:
            return True
        hashed = self._users.get(user)
        with self._bcrypt_lock:
            ok = bcrypt.checkpw(password[:_BCRYPT_MAX], hashed or self._decoy)
        if ok and hashed is not None:
            self.cache.add(key)
            return True
        return False
