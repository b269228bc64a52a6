"""The home-made SigV4 signer against AWS's published aws-sig-v4-test-suite vectors.

Expected canonical requests, strings to sign and Authorization values are copied from the
suite as published: the 2015 cases (``example.amazonaws.com``, ``service``, 20150830)
as packaged in the suite's JSON form (each ``authz`` also in aws/aws-sdk-js-v3
``packages/signature-v4/src/suite.fixture.ts``), and the 2011 ``get-space``/``get-utf8``
cases as botocore keeps them (``tests/unit/auth/aws4_testsuite``), which pin the double
encoding of the path that every service but S3 uses.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from exporter.providers.wire import sigv4

CREDENTIALS = sigv4.Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
TOKEN = (
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRq"
    "TflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75"
    "YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX"
    "9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="
)
WHEN = datetime(2015, 8, 30, 12, 36, tzinfo=UTC)
AMZ_DATE = "20150830T123600Z"
HOST = "example.amazonaws.com"
SCOPE = "20150830/us-east-1/service/aws4_request"
AUTHZ = f"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{SCOPE}, "
FORM_HASH = "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"


@dataclass(frozen=True)
class Vector:
    name: str
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    creq: str
    sts_hash: str
    authz: str


E = sigv4.EMPTY_SHA256
H = f"host:{HOST}\n"
D = f"x-amz-date:{AMZ_DATE}\n"


def _authz(signed: str, signature: str) -> str:
    return f"{AUTHZ}SignedHeaders={signed}, Signature={signature}"


# (name, method, query, headers besides host and x-amz-date, body, published creq,
#  published string-to-sign hash, published Authorization)
VECTORS_2015 = [
    Vector(
        "get-vanilla",
        "GET",
        "/",
        "",
        {},
        b"",
        f"GET\n/\n\n{H}{D}\nhost;x-amz-date\n{E}",
        "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
        _authz(
            "host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        ),
    ),
    Vector(
        "post-vanilla",
        "POST",
        "/",
        "",
        {},
        b"",
        f"POST\n/\n\n{H}{D}\nhost;x-amz-date\n{E}",
        "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
        _authz(
            "host;x-amz-date", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"
        ),
    ),
    Vector(
        "post-x-www-form-urlencoded",
        "POST",
        "/",
        "",
        {"content-type": "application/x-www-form-urlencoded"},
        b"Param1=value1",
        f"POST\n/\n\ncontent-type:application/x-www-form-urlencoded\n{H}{D}\n"
        f"content-type;host;x-amz-date\n{FORM_HASH}",
        "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281",
        _authz(
            "content-type;host;x-amz-date",
            "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
        ),
    ),
    Vector(
        "post-header-key-sort",
        "POST",
        "/",
        "",
        {"my-header1": "value1"},
        b"",
        f"POST\n/\n\n{H}my-header1:value1\n{D}\nhost;my-header1;x-amz-date\n{E}",
        "9368318c2967cf6de74404b30c65a91e8f6253e0a8659d6d5319f1a812f87d65",
        _authz(
            "host;my-header1;x-amz-date",
            "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c",
        ),
    ),
    Vector(
        "get-vanilla-utf8-query",
        "GET",
        "/",
        "%E1%88%B4=bar",
        {},
        b"",
        f"GET\n/\n%E1%88%B4=bar\n{H}{D}\nhost;x-amz-date\n{E}",
        "eb30c5bed55734080471a834cc727ae56beb50e5f39d1bff6d0d38cb192a7073",
        _authz(
            "host;x-amz-date", "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"
        ),
    ),
    Vector(
        "post-sts-header-before",
        "POST",
        "/",
        "",
        {"x-amz-security-token": TOKEN},
        b"",
        f"POST\n/\n\n{H}{D}x-amz-security-token:{TOKEN}\n\n"
        f"host;x-amz-date;x-amz-security-token\n{E}",
        "c237e1b440d4c63c32ca95b5b99481081cb7b13c7e40434868e71567c1a882f6",
        _authz(
            "host;x-amz-date;x-amz-security-token",
            "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead",
        ),
    ),
]


@pytest.mark.parametrize("v", VECTORS_2015, ids=lambda v: v.name)
def test_suite_vector_canonical_request_string_to_sign_and_authorization(v: Vector) -> None:
    headers = {"host": HOST, "x-amz-date": AMZ_DATE, **v.headers}
    creq = sigv4.canonical_request(
        v.method,
        sigv4.canonical_uri(v.path),
        sigv4.canonical_query(v.query),
        headers,
        hashlib.sha256(v.body).hexdigest(),
    )
    assert creq == v.creq
    sts = sigv4.string_to_sign(AMZ_DATE, SCOPE, creq)
    assert sts == f"AWS4-HMAC-SHA256\n{AMZ_DATE}\n{SCOPE}\n{v.sts_hash}"
    _, signed = sigv4.canonical_headers(headers)
    assert sigv4.authorization(CREDENTIALS, SCOPE, signed, sts) == v.authz


@pytest.mark.parametrize("v", VECTORS_2015, ids=lambda v: v.name)
def test_signing_the_suite_request_end_to_end_gives_the_published_authorization(v: Vector) -> None:
    token = v.headers.get("x-amz-security-token")
    credentials = sigv4.Credentials(CREDENTIALS.access_key_id, CREDENTIALS.secret_access_key, token)
    extra = {k: val for k, val in v.headers.items() if k != "x-amz-security-token"}
    url = f"https://{HOST}{v.path}" + (f"?{v.query}" if v.query else "")
    signed = sigv4.sign(
        v.method, url, extra, v.body, credentials, region="us-east-1", service="service", now=WHEN
    )
    assert signed["Authorization"] == v.authz
    assert signed["x-amz-date"] == AMZ_DATE
    assert signed.get("x-amz-security-token") == token


# botocore's 2011-suite cases: the wire path is already encoded and is encoded again.
# (name, wire path, published creq, published string-to-sign hash, published signature)
BOTOCORE_2011 = [
    (
        "get-space",
        "/%20/foo",
        "GET\n/%2520/foo\n\ndate:Mon, 09 Sep 2011 23:36:00 GMT\nhost:host.foo.com\n\n"
        "date;host\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "35975885599128f8963ce9be7219598b2b5a344321bae304529556c891e9e6ba",
        "2be9e587d1ee1f0fd02128724b86b4358ba3630d39f493b6e06610a19a50779e",
    ),
    (
        "get-utf8",
        "/%E1%88%B4",
        "GET\n/%25E1%2588%25B4\n\ndate:Mon, 09 Sep 2011 23:36:00 GMT\nhost:host.foo.com\n\n"
        "date;host\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "47f4456c465167f4db3490a68903fe057412e6e030de38f71d9006467eb4922a",
        "57b1eb3df3b16a8479c0097b66c0b261cfd65b829419a3f2c3d05319722490b8",
    ),
]


@pytest.mark.parametrize(
    ("name", "path", "creq", "sts_hash", "signature"),
    BOTOCORE_2011,
    ids=[c[0] for c in BOTOCORE_2011],
)
def test_path_is_encoded_twice_as_botocore_vectors_show(
    name: str, path: str, creq: str, sts_hash: str, signature: str
) -> None:
    headers = {"date": "Mon, 09 Sep 2011 23:36:00 GMT", "host": "host.foo.com"}
    ours = sigv4.canonical_request(
        "GET", sigv4.canonical_uri(path), "", headers, sigv4.EMPTY_SHA256
    )
    assert ours == creq
    scope = "20110909/us-east-1/host/aws4_request"
    sts = sigv4.string_to_sign("20110909T233600Z", scope, ours)
    assert sts == f"AWS4-HMAC-SHA256\n20110909T233600Z\n{scope}\n{sts_hash}"
    assert sigv4.authorization(CREDENTIALS, scope, "date;host", sts) == (
        f"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{scope}, "
        f"SignedHeaders=date;host, Signature={signature}"
    )


def test_header_values_are_trimmed_and_inner_spaces_collapsed() -> None:
    block, names = sigv4.canonical_headers({"My-Header2": '  "a   b   c"  ', "Host": HOST})
    assert block == f'host:{HOST}\nmy-header2:"a b c"\n'
    assert names == "host;my-header2"


def test_credentials_come_from_the_standard_variables_and_never_print() -> None:
    environ = {
        "AWS_ACCESS_KEY_ID": "AKID",
        "AWS_SECRET_ACCESS_KEY": "s3cr3t-key",
        "AWS_SESSION_TOKEN": "tok3n",
    }
    credentials = sigv4.Credentials.from_environ(environ)
    assert credentials is not None
    assert credentials.secrets == ("s3cr3t-key", "tok3n")
    assert "s3cr3t" not in repr(credentials) and "tok3n" not in repr(credentials)
    assert sigv4.Credentials.from_environ({"AWS_ACCESS_KEY_ID": "AKID"}) is None
