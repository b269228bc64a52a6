"""Bedrock ConverseStream: SDK snapshot frames, a fake server, both auth modes, faults."""

from __future__ import annotations

import hashlib
import json
import struct
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings

from exporter.accounting.pricing import cost_usd, price_for
from exporter.config.types import TargetConfig
from exporter.providers.bedrock import BedrockOptions, BedrockProvider, ConverseStreamDecoder
from exporter.providers.wire import sigv4
from exporter.providers.wire.eventstream import encode_message, string_headers
from testkit.fakeserver import Script, Step
from testkit.wire import (
    BEDROCK_HEADERS,
    BEDROCK_LATENCY_MS,
    Plan,
    always,
    bedrock_event,
    bedrock_script,
    json_error,
)
from tests.providers.support import (
    TRANSCRIPTS,
    assert_timing_follows,
    cut_points,
    decode,
    one_byte_pieces,
    probe,
    recorded_cost,
    splits,
    target,
    truncation_reasons,
)

MODEL = "amazon.nova-lite-v1:0"
SNAPSHOTS = sorted(
    (TRANSCRIPTS / "bedrock_eventstream").glob("awssdkjsv3_conversestream_snapshot_*.hex")
)
EVENTS = json.loads((TRANSCRIPTS / "bedrock_conversestream_events.json").read_text())
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    "AWS_SESSION_TOKEN": "session-token-0123",
    "AWS_REGION": "eu-west-1",
}
WHEN = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SIGV4 = BedrockProvider(environ=AWS_ENV, now=lambda: WHEN)
BEARER = BedrockProvider(environ={})


def make(url: str) -> TargetConfig:
    return target("bedrock", url, MODEL, BedrockOptions(region="us-east-1"))


def snapshot_body() -> bytes:
    return b"".join(bytes.fromhex(p.read_text().strip()) for p in SNAPSHOTS)


def test_sdk_snapshot_stream_decodes_whole_and_byte_by_byte() -> None:
    # The snapshot's only delta is a toolResult, so it has no text and no usage (sidecars).
    body = snapshot_body()
    for pieces in ([body], one_byte_pieces(body)):
        out = decode(ConverseStreamDecoder(), pieces)
        assert out.error is None, out.error
        assert (out.text, out.usage.input_tokens, out.usage.output_tokens) == ("", None, None)


@settings(max_examples=40, deadline=None)
@given(cuts=cut_points())
def test_sdk_snapshot_stream_decodes_at_any_split(cuts: list[int]) -> None:
    out = decode(ConverseStreamDecoder(), splits(snapshot_body(), cuts))
    assert out.error is None and out.text == ""


@pytest.mark.parametrize(
    "printed", EVENTS["sdk_snapshot_other_frames_printed"], ids=lambda p: p["event"]
)
def test_snapshot_exception_frames_rebuild_exactly_and_fail_the_probe(
    printed: dict[str, object],
) -> None:
    headers = {
        ":event-type": str(printed["event"]),
        ":message-type": "event",
        ":content-type": "application/json",
    }
    frame = encode_message(
        string_headers(headers), json.dumps(printed["json"], separators=(",", ":")).encode()
    )
    total, header_size, prelude_crc = struct.unpack(">III", frame[:12])
    (message_crc,) = struct.unpack(">I", frame[-4:])
    assert (total, header_size, prelude_crc, message_crc) == (
        printed["total-size"],
        printed["header-size"],
        printed["prelude-crc"],
        printed["message-crc"],
    )
    out = decode(ConverseStreamDecoder(), [frame])
    assert out.error is not None and out.error.reason == "provider_error"
    assert str(printed["event"]) in str(out.error)


def test_text_usage_and_server_latency_from_a_full_stream() -> None:
    body = b"".join(
        s.data
        for s in bedrock_script(Plan(pieces=("Hel", "lo"), input_tokens=9, output_tokens=2)).steps
    )
    out = decode(ConverseStreamDecoder(), one_byte_pieces(body))
    assert out.error is None
    assert (out.text, out.usage.input_tokens, out.usage.output_tokens) == ("Hello", 9, 2)
    assert out.timings == {"latency": BEDROCK_LATENCY_MS / 1000}


def test_cache_tokens_are_part_of_input() -> None:
    usage = {
        "inputTokens": 3,
        "outputTokens": 1,
        "totalTokens": 34,
        "cacheReadInputTokens": 20,
        "cacheWriteInputTokens": 10,
    }
    frames = bedrock_event("messageStop", {"stopReason": "end_turn"}) + bedrock_event(
        "metadata", {"usage": usage, "metrics": {"latencyMs": 5}}
    )
    out = decode(ConverseStreamDecoder(), [frames])
    assert (out.usage.input_tokens, out.usage.cached_input_tokens) == (33, 20)


def test_bearer_api_key_request() -> None:
    result, requests = probe(
        BEARER, always(bedrock_script(Plan())), make, api_key="bedrock-api-key-0123"
    )
    assert result.success, result.message
    (request,) = requests
    assert request.path == "/model/amazon.nova-lite-v1%3A0/converse-stream"
    assert request.headers["authorization"] == "Bearer bedrock-api-key-0123"
    body = json.loads(request.body)
    assert body["inferenceConfig"] == {"maxTokens": 32}
    assert body["messages"][0]["content"][0]["text"].startswith("Count from 1 to 20.")


def test_sigv4_request_is_signed_with_the_environment_credentials() -> None:
    result, requests = probe(SIGV4, always(bedrock_script(Plan())), make, api_key=None)
    assert result.success, result.message
    (request,) = requests
    auth = request.headers["authorization"]
    assert auth.startswith(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/bedrock/aws4_request, "
    )
    assert "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token," in auth
    assert request.headers["x-amz-date"] == "20261126T120000Z"
    assert request.headers["x-amz-security-token"] == "session-token-0123"
    # The server can recompute the signature from what it received.
    creq = sigv4.canonical_request(
        "POST",
        sigv4.canonical_uri(request.path),
        "",
        {
            k: request.headers[k]
            for k in ("content-type", "host", "x-amz-date", "x-amz-security-token")
        },
        hashlib.sha256(request.body).hexdigest(),
    )
    scope = "20261126/us-east-1/bedrock/aws4_request"
    credentials = sigv4.Credentials.from_environ(AWS_ENV)
    assert credentials is not None
    sts = sigv4.string_to_sign("20261126T120000Z", scope, creq)
    assert auth == sigv4.authorization(
        credentials, scope, "content-type;host;x-amz-date;x-amz-security-token", sts
    )
    assert AWS_ENV["AWS_SECRET_ACCESS_KEY"] not in json.dumps(dict(request.headers))


def test_region_comes_from_aws_region_when_the_target_has_none() -> None:
    provider = BedrockProvider(environ=AWS_ENV, now=lambda: WHEN)
    call = provider.build_call(target("bedrock", "", MODEL, BedrockOptions()), "hi", None)
    assert (
        call.url
        == "https://bedrock-runtime.eu-west-1.amazonaws.com/model/amazon.nova-lite-v1%3A0/converse-stream"
    )
    assert "/eu-west-1/bedrock/aws4_request" in call.headers["Authorization"]
    assert set(call.secrets) == {AWS_ENV["AWS_SECRET_ACCESS_KEY"], AWS_ENV["AWS_SESSION_TOKEN"]}


def test_missing_credentials_or_region_fail_with_a_clear_reason() -> None:
    result, requests = probe(BEARER, always(bedrock_script(Plan())), make, api_key=None)
    assert result.reason == "auth" and "AWS_ACCESS_KEY_ID" in result.message and not requests
    no_region = lambda url: target("bedrock", url, MODEL, BedrockOptions())  # noqa: E731
    result, _ = probe(BEARER, always(bedrock_script(Plan())), no_region, api_key="k-0123")
    assert result.reason == "client_error" and "AWS_REGION" in result.message


def test_timing_tokens_cost_and_server_latency_come_out_right() -> None:
    plan = Plan(pieces=("a", "b", "c"), ttft=0.12, gap=0.05, input_tokens=40, output_tokens=3)
    result, _ = probe(SIGV4, always(bedrock_script(plan)), make, api_key=None)
    assert result.success, result.message
    assert_timing_follows(result, ttft=0.12, gap=0.05, chunks=3)
    assert (result.input_tokens, result.output_tokens) == (40, 3)
    assert result.server_timings == {"latency": BEDROCK_LATENCY_MS / 1000}
    t = make("http://127.0.0.1")
    price = price_for(t)
    assert price is not None
    assert recorded_cost(t, SIGV4, result) == pytest.approx(cost_usd(price, 40, 3))


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (429, "rate_limited"),
        (401, "auth"),
        (403, "auth"),
        (500, "server_error"),
        (503, "server_error"),
    ],
)
def test_error_statuses_map_to_reasons_with_the_aws_message(status: int, reason: str) -> None:
    script = json_error(
        status, {"message": "Too many requests, please wait."}, {"Retry-After": "2"}
    )
    result, _ = probe(SIGV4, always(script), make, api_key=None)
    assert result.reason == reason and result.status == status
    assert "Too many requests" in result.message
    assert AWS_ENV["AWS_SECRET_ACCESS_KEY"] not in result.message
    if status == 429:
        assert result.retry_after == 2.0


def test_exception_frame_mid_stream_is_provider_error() -> None:
    result, _ = probe(SIGV4, always(bedrock_script(Plan(error_after=2))), make, api_key=None)
    assert (
        result.reason == "provider_error"
        and "modelStreamErrorException: stream broke" in result.message
    )


def test_error_message_frame_is_provider_error() -> None:
    headers = {":message-type": "error", ":error-code": "InternalFailure", ":error-message": "oops"}
    steps = [
        Step(bedrock_event("messageStart", {"role": "assistant"})),
        Step(encode_message(string_headers(headers))),
    ]
    result, _ = probe(
        SIGV4, always(Script(headers=BEDROCK_HEADERS, steps=steps)), make, api_key=None
    )
    assert result.reason == "provider_error" and "InternalFailure: oops" in result.message


def test_frame_with_a_bad_crc_is_protocol() -> None:
    result, _ = probe(SIGV4, always(bedrock_script(Plan(), bad_crc_at=1)), make, api_key=None)
    assert result.reason == "protocol" and "checksum" in result.message


def test_stream_cut_before_message_stop_is_truncated() -> None:
    cut = bedrock_script(Plan(cut_after=2))
    assert truncation_reasons(SIGV4, cut, make, api_key=None) == ("truncated", "truncated")


def test_stream_ending_inside_a_frame_is_truncated() -> None:
    frames = bedrock_script(Plan()).steps
    half = frames[1].data[:10]
    script = Script(headers=BEDROCK_HEADERS, steps=[frames[0], Step(half)])
    result, _ = probe(SIGV4, always(script), make, api_key=None)
    assert result.reason == "truncated" and "inside" in result.message
