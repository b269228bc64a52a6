"""``CredentialCheck``: constant-time token comparison, bcrypt with a bounded success cache."""

from __future__ import annotations

import base64
import hmac

import bcrypt
import pytest

from servicekit.web import auth as webauth
from servicekit.web.auth import CredentialCheck
from servicekit.web.server import Request

PASSWORD = b"s3cret"
HASH = bcrypt.hashpw(PASSWORD, bcrypt.gensalt(4)).decode()


def request(authorization: str | None = None) -> Request:
    headers = {} if authorization is None else {"authorization": authorization}
    return Request("GET", "/metrics", headers)


def basic(user: str, password: bytes) -> str:
    return "Basic " + base64.b64encode(user.encode() + b":" + password).decode()


class CountingCheckpw:
    """Wraps bcrypt.checkpw and records the hash each call used."""

    def __init__(self) -> None:
        self.hashes: list[bytes] = []
        self._real = bcrypt.checkpw

    def __call__(self, password: bytes, hashed: bytes) -> bool:
        self.hashes.append(hashed)
        return self._real(password, hashed)


@pytest.fixture
def checkpw(monkeypatch: pytest.MonkeyPatch) -> CountingCheckpw:
    spy = CountingCheckpw()
    monkeypatch.setattr(bcrypt, "checkpw", spy)
    return spy


def test_token_is_compared_with_hmac_compare_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    check = CredentialCheck({}, "t0ken")
    assert check.check(request("Bearer t0ken")) is None
    assert check.check(request("Bearer t0kem")) is not None
    assert len(calls) == 2
    # Fixed-length digests: the comparison does not even reveal the token's length.
    assert {len(a) for a, _ in calls} == {len(b) for _, b in calls} == {32}


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer t0ken2", "Token t0ken", "Basic t0ken", "bearer  wrong"],
)
def test_anything_but_the_token_gets_the_bearer_challenge(authorization: str | None) -> None:
    denied = CredentialCheck({}, "t0ken").check(request(authorization))
    assert denied is not None
    assert denied.status == 401
    assert denied.headers == {"WWW-Authenticate": 'Bearer realm="llmscope"'}


def test_scheme_is_case_insensitive() -> None:
    assert CredentialCheck({}, "t0ken").check(request("bEaReR t0ken")) is None


@pytest.mark.parametrize(
    "authorization",
    [
        basic("alice", b"wrong"),
        basic("mallory", PASSWORD),
        "Basic !!!not-base64",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:" + PASSWORD).decode(),
        "Bearer " + PASSWORD.decode(),
    ],
)
def test_bad_basic_credentials_get_the_basic_challenge(authorization: str) -> None:
    denied = CredentialCheck({"alice": HASH}).check(request(authorization))
    assert denied is not None
    assert denied.status == 401
    assert denied.headers == {"WWW-Authenticate": 'Basic realm="llmscope"'}


def test_both_schemes_are_offered_when_both_are_configured() -> None:
    check = CredentialCheck({"alice": HASH}, "t0ken")
    denied = check.check(request())
    assert denied is not None
    assert denied.headers == {"WWW-Authenticate": 'Basic realm="llmscope", Bearer realm="llmscope"'}
    assert check.check(request("Bearer t0ken")) is None
    assert check.check(request(basic("alice", PASSWORD))) is None


def test_repeated_scrapes_cost_one_bcrypt(checkpw: CountingCheckpw) -> None:
    check = CredentialCheck({"alice": HASH})
    for _ in range(5):
        assert check.check(request(basic("alice", PASSWORD))) is None
    assert checkpw.hashes == [HASH.encode()]


def test_failures_are_not_cached(checkpw: CountingCheckpw) -> None:
    check = CredentialCheck({"alice": HASH})
    for _ in range(3):
        assert check.check(request(basic("alice", b"wrong"))) is not None
    assert len(checkpw.hashes) == 3
    assert len(check.cache) == 0


def test_unknown_user_still_costs_a_bcrypt_of_the_same_cost(checkpw: CountingCheckpw) -> None:
    check = CredentialCheck({"alice": HASH})
    assert check.check(request(basic("mallory", PASSWORD))) is not None
    (decoy,) = checkpw.hashes
    assert decoy != HASH.encode()
    assert decoy[:7] == HASH.encode()[:7]  # "$2b$04$": same algorithm and cost


def test_cache_is_bounded_and_evicts_the_oldest(checkpw: CountingCheckpw) -> None:
    users = {f"user{i}": HASH for i in range(4)}
    check = CredentialCheck(users, cache_size=2)
    for name in users:
        assert check.check(request(basic(name, PASSWORD))) is None
    assert len(check.cache) == 2
    assert check.check(request(basic("user3", PASSWORD))) is None  # still cached
    assert len(checkpw.hashes) == 4
    assert check.check(request(basic("user0", PASSWORD))) is None  # evicted: bcrypt again
    assert len(checkpw.hashes) == 5


def test_cache_holds_no_password() -> None:
    check = CredentialCheck({"alice": HASH})
    assert check.check(request(basic("alice", PASSWORD))) is None
    assert all(PASSWORD not in key for key in check.cache._entries)


def test_password_longer_than_72_bytes_matches_as_htpasswd_hashed_it() -> None:
    # htpasswd and Go's bcrypt use only the first 72 bytes of a password.
    long = b"x" * 72
    check = CredentialCheck({"alice": bcrypt.hashpw(long, bcrypt.gensalt(4)).decode()})
    assert check.check(request(basic("alice", long + b"tail"))) is None
    assert check.check(request(basic("alice", b"x" * 71))) is not None


def test_needs_users_or_a_token() -> None:
    with pytest.raises(ValueError, match="needs users or a token"):
        CredentialCheck({}, None)


@pytest.mark.parametrize(
    ("hashed", "cost"),
    [
        (HASH, 4),
        ("$2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG", 10),
        ("$2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7z", None),
        ("$2x$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG", None),
        ("$2y$03$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG", None),
        ("hunter2", None),
    ],
    # HASH is made at import time with a random salt: ids by position keep the collection
    # the same in every worker process.
    ids=["made", "cost10", "short", "2x", "cost3", "plain"],
)
def test_bcrypt_cost_recognises_only_wellformed_hashes(hashed: str, cost: int | None) -> None:
    assert webauth.bcrypt_cost(hashed) == cost
