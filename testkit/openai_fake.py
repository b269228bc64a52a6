"""Chat Completions stream frames as the OpenAI API sends them (see the recorded
transcripts in tests/transcripts: chunk objects, a usage chunk, ``[DONE]``)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from testkit.fakeserver import FakeRequest, Route, Script, Step

SSE_HEADERS = {"Content-Type": "text/event-stream; charset=utf-8"}


def chunk(content: str | None = None, *, role: bool = False, finish: str | None = None) -> str:
    delta: dict[str, object] = {}
    if role:
        delta = {"role": "assistant", "content": "", "refusal": None}
    if content is not None:
        delta["content"] = content
    body = {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 1770950834,
        "model": "gpt-4o-mini-2024-07-18",
        "system_fingerprint": "fp_test",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        "usage": None,
    }
    return f"data: {json.dumps(body)}\n\n"


def usage_chunk(prompt_tokens: int, completion_tokens: int) -> str:
    body = {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 1770950834,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }
    return f"data: {json.dumps(body)}\n\n"


DONE = "data: [DONE]\n\n"


def stream_script(
    pieces: Sequence[str],
    *,
    ttft: float = 0.0,
    gap: float = 0.0,
    usage: tuple[int, int] | None = (12, 5),
    done: bool = True,
) -> Script:
    """A successful stream: role chunk at once, first content after ``ttft``, then ``gap``."""
    steps = [Step(chunk(role=True).encode())]
    for i, piece in enumerate(pieces):
        steps.append(Step(chunk(piece).encode(), ttft if i == 0 else gap))
    steps.append(Step(chunk(finish="stop").encode()))
    if usage is not None:
        steps.append(Step(usage_chunk(*usage).encode()))
    if done:
        steps.append(Step(DONE.encode()))
    return Script(headers=SSE_HEADERS, steps=steps)


def error_script(
    status: int, message: str, *, kind: str = "server_error", headers: dict[str, str] | None = None
) -> Script:
    body = json.dumps({"error": {"message": message, "type": kind, "param": None, "code": None}})
    return Script(
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
        steps=[Step(body.encode())],
    )


def always(script: Script) -> Route:
    def route(request: FakeRequest) -> Script:
        return script

    return route
