"""Response bodies in each provider's documented wire format, for the fake servers.

Shapes follow the providers' references and the recorded transcripts in
tests/transcripts (Anthropic's "Streaming Messages" events, Gemini's
GenerateContentResponse chunks with CRLF separators, Ollama's NDJSON chat objects,
Bedrock's ConverseStream events in event stream frames). A ``Plan`` says what to stream;
each builder turns it into scripted steps with the plan's delays.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from exporter.providers.wire.eventstream import encode_message, string_headers
from testkit.fakeserver import FakeRequest, Route, Script, Step


@dataclass(frozen=True)
class Plan:
    pieces: Sequence[str] = ("1", " 2", " 3", " 4")
    ttft: float = 0.0  # delay before the first text piece
    gap: float = 0.0  # delay before each later piece
    input_tokens: int = 14
    output_tokens: int = 4
    # Stop after this many pieces without the end marker (a truncated stream).
    cut_after: int | None = None
    # Send the provider's in-stream error after this many pieces.
    error_after: int | None = None


def _steps(head: list[bytes], pieces: list[bytes], tail: list[bytes], plan: Plan) -> list[Step]:
    steps = [Step(b) for b in head]
    for i, piece in enumerate(pieces):
        if plan.cut_after is not None and i == plan.cut_after:
            return steps
        steps.append(Step(piece, plan.ttft if i == 0 else plan.gap))
    if plan.cut_after is not None:
        return steps
    return steps + [Step(b) for b in tail]


def _with_error(plan: Plan, pieces: list[bytes], error: bytes) -> list[bytes]:
    return pieces if plan.error_after is None else [*pieces[: plan.error_after], error]


# Anthropic Messages -------------------------------------------------------------------

ANTHROPIC_HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "request-id": "req_test",
    "anthropic-ratelimit-requests-remaining": "999",
    "anthropic-ratelimit-tokens-remaining": "96000",
    "anthropic-ratelimit-input-tokens-remaining": "80000",
    "anthropic-ratelimit-output-tokens-remaining": "16000",
}


def sse_event(event: str, data: Mapping[str, object]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def anthropic_error(kind: str, message: str) -> dict[str, object]:
    return {"type": "error", "error": {"type": kind, "message": message}}


def anthropic_script(plan: Plan, model: str = "claude-haiku-4-5") -> Script:
    start = {
        "type": "message_start",
        "message": {
            "id": "msg_test",
            "type": "message",
            "role": "assistant",
            "content": [],
            "model": model,
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": plan.input_tokens, "output_tokens": 1},
        },
    }
    block = {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "text", "text": ""},
    }
    head = [
        sse_event("message_start", start),
        sse_event("content_block_start", block),
        sse_event("ping", {"type": "ping"}),
    ]
    pieces = [
        sse_event(
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}},
        )
        for p in plan.pieces
    ]
    pieces = _with_error(
        plan, pieces, sse_event("error", anthropic_error("overloaded_error", "Overloaded"))
    )
    tail = [
        sse_event("content_block_stop", {"type": "content_block_stop", "index": 0}),
        sse_event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": plan.output_tokens},
            },
        ),
        sse_event("message_stop", {"type": "message_stop"}),
    ]
    return Script(headers=ANTHROPIC_HEADERS, steps=_steps(head, pieces, tail, plan))


# Gemini streamGenerateContent?alt=sse ---------------------------------------------------

GEMINI_HEADERS = {"Content-Type": "text/event-stream"}


def gemini_chunk(body: Mapping[str, object]) -> bytes:
    return b"data: " + json.dumps(body, separators=(",", ": ")).encode() + b"\r\n\r\n"


def gemini_error(code: int, status: str, message: str) -> dict[str, object]:
    return {"error": {"code": code, "message": message, "status": status}}


def gemini_script(plan: Plan, model: str = "gemini-2.5-flash") -> Script:
    pieces = []
    for i, text in enumerate(plan.pieces):
        last = i == len(plan.pieces) - 1
        candidate: dict[str, object] = {"content": {"parts": [{"text": text}], "role": "model"}}
        usage: dict[str, object] = {"promptTokenCount": plan.input_tokens}
        if last:
            candidate["finishReason"] = "STOP"
            usage["candidatesTokenCount"] = plan.output_tokens
        usage["totalTokenCount"] = plan.input_tokens + (plan.output_tokens if last else 0)
        body = {"candidates": [candidate], "usageMetadata": usage, "modelVersion": model}
        pieces.append(gemini_chunk(body))
    error = json.dumps(gemini_error(499, "CANCELLED", "The operation was cancelled."), indent=2)
    pieces = _with_error(plan, pieces, error.encode() + b"\n")
    return Script(headers=GEMINI_HEADERS, steps=_steps([], pieces, [], plan))


# Ollama /api/chat -------------------------------------------------------------------------

OLLAMA_HEADERS = {"Content-Type": "application/x-ndjson"}
NANOSECONDS = {"load_duration": 0.012, "prompt_eval_duration": 0.034, "eval_duration": 0.25}


def ndjson_line(obj: Mapping[str, object]) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode() + b"\n"


def ollama_script(plan: Plan, model: str = "llama3.2") -> Script:
    stamp = "2023-08-04T08:52:19.385406455-07:00"
    pieces = [
        ndjson_line(
            {
                "model": model,
                "created_at": stamp,
                "message": {"role": "assistant", "content": p},
                "done": False,
            }
        )
        for p in plan.pieces
    ]
    pieces = _with_error(
        plan, pieces, ndjson_line({"error": "an error was encountered while running the model"})
    )
    final: dict[str, object] = {
        "model": model,
        "created_at": stamp,
        "message": {"role": "assistant", "content": ""},
        "done_reason": "stop",
        "done": True,
        "total_duration": round(sum(NANOSECONDS.values()) * 1e9),
        "prompt_eval_count": plan.input_tokens,
        "eval_count": plan.output_tokens,
    }
    final.update({k: round(v * 1e9) for k, v in NANOSECONDS.items()})
    return Script(headers=OLLAMA_HEADERS, steps=_steps([], pieces, [ndjson_line(final)], plan))


def ollama_tags(*models: str, digest: str = "0" * 64) -> Script:
    """``GET /api/tags`` as ollama's docs/api.md shows it ("List Local Models")."""
    details = {
        "parent_model": "",
        "format": "gguf",
        "family": "llama",
        "families": ["llama"],
        "parameter_size": "3.2B",
        "quantization_level": "Q4_K_M",
    }
    body = {
        "models": [
            {
                "name": m,
                "model": m,
                "modified_at": "2025-05-10T08:06:48.639712648-07:00",
                "size": 2019393189,
                "digest": digest,
                "details": details,
            }
            for m in models
        ]
    }
    return Script(
        headers={"Content-Type": "application/json"}, steps=[Step(json.dumps(body).encode())]
    )


# Bedrock ConverseStream -------------------------------------------------------------------

BEDROCK_HEADERS = {"Content-Type": "application/vnd.amazon.eventstream"}
BEDROCK_LATENCY_MS = 321


def bedrock_event(event: str, payload: Mapping[str, object]) -> bytes:
    headers = {":event-type": event, ":content-type": "application/json", ":message-type": "event"}
    return encode_message(
        string_headers(headers), json.dumps(payload, separators=(",", ":")).encode()
    )


def bedrock_exception(kind: str, message: str) -> bytes:
    headers = {
        ":exception-type": kind,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    return encode_message(string_headers(headers), json.dumps({"message": message}).encode())


def corrupt_crc(frame: bytes) -> bytes:
    """The frame with its message CRC flipped."""
    return frame[:-1] + bytes([frame[-1] ^ 0xFF])


def bedrock_script(plan: Plan, bad_crc_at: int | None = None) -> Script:
    # Text blocks get no contentBlockStart: its union only has toolUse/toolResult/image.
    head = [bedrock_event("messageStart", {"role": "assistant"})]
    pieces = [
        bedrock_event("contentBlockDelta", {"delta": {"text": p}, "contentBlockIndex": 0})
        for p in plan.pieces
    ]
    if bad_crc_at is not None:
        pieces[bad_crc_at] = corrupt_crc(pieces[bad_crc_at])
    pieces = _with_error(
        plan, pieces, bedrock_exception("modelStreamErrorException", "stream broke")
    )
    usage = {
        "inputTokens": plan.input_tokens,
        "outputTokens": plan.output_tokens,
        "totalTokens": plan.input_tokens + plan.output_tokens,
    }
    tail = [
        bedrock_event("contentBlockStop", {"contentBlockIndex": 0}),
        bedrock_event("messageStop", {"stopReason": "end_turn"}),
        bedrock_event("metadata", {"usage": usage, "metrics": {"latencyMs": BEDROCK_LATENCY_MS}}),
    ]
    return Script(headers=BEDROCK_HEADERS, steps=_steps(head, pieces, tail, plan))


# Error responses and routes -----------------------------------------------------------------


def json_error(
    status: int, body: Mapping[str, object], headers: Mapping[str, str] | None = None
) -> Script:
    return Script(
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
        steps=[Step(json.dumps(body).encode())],
    )


def always(script: Script) -> Route:
    def route(request: FakeRequest) -> Script:
        return script

    return route


def in_turn(*scripts: Script) -> Route:
    """Answer with each script in turn, then keep repeating the last one."""
    served = 0

    def route(request: FakeRequest) -> Script:
        nonlocal served
        script = scripts[min(served, len(scripts) - 1)]
        served += 1
        return script

    return route
