"""Ollama /api/chat NDJSON: transcripts, a fake server, faults, and the default-config join."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from hypothesis import given, settings

from exporter.config.types import TargetConfig
from exporter.configfile import builtin_config, ollama_first_model
from exporter.providers.ollama import TIMINGS, OllamaChatDecoder, OllamaProvider
from testkit.fakeserver import FakeRequest, Script, Step, serving_in_thread
from testkit.wire import (
    NANOSECONDS,
    OLLAMA_HEADERS,
    Plan,
    always,
    json_error,
    ollama_script,
    ollama_tags,
)
from tests.providers.support import (
    assert_timing_follows,
    check_transcript,
    cut_points,
    decode,
    one_byte_pieces,
    probe,
    recorded_cost,
    sidecar,
    splits,
    target,
    transcripts,
    truncation_reasons,
)

PROVIDER = OllamaProvider()
TRANSCRIPTS = transcripts("ollama_", ".ndjson")


def make(url: str) -> TargetConfig:
    return target("ollama", url, "llama3.2")


def check(path: Path, pieces: list[bytes]) -> None:
    expected = sidecar(path)["expected"]
    out = check_transcript(OllamaChatDecoder(), path, pieces)
    assert out.timings == {
        phase: expected[field] / 1e9 for field, phase in TIMINGS.items() if field in expected
    }


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=lambda p: p.stem)
def test_ollama_transcript_decodes_whole_and_byte_by_byte(path: Path) -> None:
    body = path.read_bytes()
    check(path, [body])
    check(path, one_byte_pieces(body))


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=lambda p: p.stem)
@settings(max_examples=40, deadline=None)
@given(cuts=cut_points())
def test_ollama_transcript_decodes_at_any_split(path: Path, cuts: list[int]) -> None:
    check(path, splits(path.read_bytes(), cuts))


def test_final_line_without_newline_and_crlf_lines_decode() -> None:
    body = b'{"message":{"content":"a"},"done":false}\r\n{"done":true,"eval_count":1}'
    out = decode(OllamaChatDecoder(), one_byte_pieces(body))
    assert out.error is None and out.text == "a" and out.usage.output_tokens == 1


def test_request_is_a_streaming_chat_with_num_predict() -> None:
    result, requests = probe(PROVIDER, always(ollama_script(Plan())), make, api_key=None)
    assert result.success, result.message
    # The chat, then the model digest look-up after the stream (outside the timed span).
    request, tags = requests
    assert request.path == "/api/chat" and (tags.method, tags.path) == ("GET", "/api/tags")
    assert "authorization" not in request.headers
    body = json.loads(request.body)
    assert body["model"] == "llama3.2" and body["stream"] is True
    assert body["options"] == {"num_predict": 32}


def test_timing_tokens_and_server_phases_come_out_right() -> None:
    plan = Plan(pieces=("The", " sky", " is"), ttft=0.1, gap=0.05, input_tokens=26, output_tokens=3)
    result, _ = probe(PROVIDER, always(ollama_script(plan)), make, api_key=None)
    assert result.success, result.message
    assert_timing_follows(result, ttft=0.1, gap=0.05, chunks=3)
    assert (result.input_tokens, result.output_tokens) == (26, 3)
    expected = {TIMINGS[k]: pytest.approx(v) for k, v in NANOSECONDS.items()}
    expected["total"] = pytest.approx(sum(NANOSECONDS.values()))
    assert result.server_timings == expected
    # A local model has no price: no cost series at all, not a zero.
    assert recorded_cost(make("http://127.0.0.1"), PROVIDER, result) == {}


def test_unknown_model_404_is_client_error_with_the_servers_text() -> None:
    result, _ = probe(
        PROVIDER, always(json_error(404, {"error": "model 'llama9' not found"})), make
    )
    assert result.reason == "client_error" and "model 'llama9' not found" in result.message


@pytest.mark.parametrize(
    ("status", "reason"),
    [(401, "auth"), (429, "rate_limited"), (500, "server_error"), (503, "server_error")],
)
def test_error_statuses_map_to_reasons(status: int, reason: str) -> None:
    script = json_error(status, {"error": "no"}, {"Retry-After": "3"})
    result, _ = probe(PROVIDER, always(script), make)
    assert result.reason == reason
    if status == 429:
        assert result.retry_after == 3.0


def test_error_object_mid_stream_is_provider_error() -> None:
    result, _ = probe(PROVIDER, always(ollama_script(Plan(error_after=1))), make)
    assert result.reason == "provider_error" and "error was encountered" in result.message


def test_stream_cut_before_done_is_truncated() -> None:
    cut = ollama_script(Plan(cut_after=2))
    assert truncation_reasons(PROVIDER, cut, make) == ("truncated", "truncated")


def test_non_json_line_is_protocol() -> None:
    script = Script(headers=OLLAMA_HEADERS, steps=[Step(b"not json\n")])
    result, _ = probe(PROVIDER, always(script), make)
    assert result.reason == "protocol"


# The built-in configuration ------------------------------------------------------------


def tags_route(*models: str) -> object:
    def route(request: FakeRequest) -> Script:
        assert (request.method, request.path) == ("GET", "/api/tags")
        return ollama_tags(*models)

    return route


def test_ollama_that_answers_joins_the_default_config_with_its_first_model() -> None:
    with serving_in_thread(tags_route("qwen3:0.6b", "llama3.2:latest")) as server:  # type: ignore[arg-type]
        url = server.url
        config = builtin_config({"OLLAMA_URL": url + "/"})
    ollama = [t for t in config.targets if t.provider == "ollama"]
    assert len(ollama) == 1
    assert (ollama[0].model, ollama[0].base_url) == ("qwen3:0.6b", url)
    assert {t.provider for t in config.targets} == {"simulated", "ollama"}


def test_ollama_without_models_or_not_running_leaves_the_simulated_targets_only() -> None:
    with serving_in_thread(tags_route()) as server:  # type: ignore[arg-type]
        assert ollama_first_model(server.url) is None
        config = builtin_config({"OLLAMA_URL": server.url})
    assert {t.provider for t in config.targets} == {"simulated"}
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    assert ollama_first_model(closed) is None
    assert {t.provider for t in builtin_config({"OLLAMA_URL": closed}).targets} == {"simulated"}


def test_an_ollama_answer_past_4_mib_is_not_read() -> None:
    # /api/tags lists models in kilobytes. 5 MiB of (valid JSON) whitespace before a list
    # is read no further than 4 MiB: not held in memory, and not taken for an answer.
    models = json.dumps({"models": [{"name": "qwen3:0.6b"}]}).encode()
    padded = Script(200, {"Content-Type": "application/json"}, [Step(b" " * (1 << 20))] * 5)
    padded.steps.append(Step(models))
    with serving_in_thread(lambda request: padded) as server:
        assert ollama_first_model(server.url, timeout=5.0) is None
    deep = Script(200, {}, [Step(b'{"models":' + b"[" * 50_000 + b"]" * 50_000 + b"}")])
    with serving_in_thread(lambda request: deep) as server:  # past Python's recursion limit
        assert ollama_first_model(server.url, timeout=5.0) is None
    small = Script(200, {"Content-Type": "application/json"}, [Step(b" " * 1024), Step(models)])
    with serving_in_thread(lambda request: small) as server:
        assert ollama_first_model(server.url, timeout=5.0) == "qwen3:0.6b"


def test_discovery_is_injectable_and_gets_the_url_from_the_environ() -> None:
    asked: list[str] = []

    def discover(url: str) -> str | None:
        asked.append(url)
        return 'odd "name": with yaml'

    config = builtin_config({"OLLAMA_URL": "http://gpu-box:11434/"}, discover)
    assert asked == ["http://gpu-box:11434"]
    assert config.targets[-1].model == 'odd "name": with yaml'

    def nothing(url: str) -> None:
        asked.append(url)

    assert {t.provider for t in builtin_config({}, nothing).targets} == {"simulated"}
    assert asked[-1] == "http://localhost:11434"


def test_malformed_ollama_url_is_reported_in_one_line_and_skipped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = builtin_config({"OLLAMA_URL": "localhost:11434"})
    assert {t.provider for t in config.targets} == {"simulated"}
    (record,) = [r for r in caplog.records if "Ollama URL" in r.getMessage()]
    assert record.getMessage() == (
        "Ollama URL 'localhost:11434' is not an http(s) URL; not looking for Ollama"
    )
