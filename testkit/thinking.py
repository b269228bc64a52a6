"""Reasoning ("thinking") streams in each provider's documented wire format.

Every builder streams the thoughts first, waits, then streams the answer, so a test can check
that time to first reasoning and time to first answer come out apart. Sources, per format:

- Anthropic: the "Extended thinking" guide's streaming example (platform.claude.com/docs/en/
  build-with-claude/extended-thinking, "Streaming thinking"): a ``content_block_start`` with
  ``{"type": "thinking", "thinking": "", "signature": ""}``, ``thinking_delta`` events, one
  ``signature_delta``, then the text block; the SDK's types
  (anthropics/anthropic-sdk-python ``src/anthropic/types/thinking_delta.py``,
  ``signature_delta.py``) have the same fields. ``message.model`` names the serving model.
- Gemini: Google's SDK test data FirebaseExtended/vertexai-sdk-test-data
  ``mock-responses/googleai/streaming-success-thinking-reply-thought-summary.txt``: parts
  ``{"text": ..., "thought": true}`` first, ``usageMetadata.thoughtsTokenCount`` beside
  ``candidatesTokenCount``, ``modelVersion`` on every chunk, ``finishReason`` on the last.
- Ollama: docs/api.md and docs.ollama.com/capabilities/thinking: with ``"think": true`` the
  chat stream carries ``message.thinking`` before ``message.content``.
- OpenAI-compatible servers: DeepSeek's "Reasoning Model (deepseek-reasoner)" guide and vLLM's
  "Reasoning Outputs" docs (examples/online_serving/openai_chat_completion_with_reasoning_
  streaming.py): ``delta.reasoning_content`` chunks, then ``delta.content``; newer vLLM names
  the field ``delta.reasoning``.
- OpenAI reasoning models think silently: nothing streams until the answer, and the usage
  chunk reports ``completion_tokens_details.reasoning_tokens`` (openai-python
  ``src/openai/types/completion_usage.py``; the recorded transcripts in tests/transcripts
  carry the field with 0).
- Bedrock: the ConverseStream ``ContentBlockDelta`` union's ``reasoningContent``
  (``ReasoningContentBlockDelta``: ``text``, ``signature``) in botocore's bedrock-runtime
  service model, and ``ConverseStreamTrace.promptRouter.invokedModelId`` (API reference,
  ``PromptRouterTrace``) for the model a prompt router chose.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from testkit.fakeserver import Script, Step
from testkit.openai_fake import DONE, SSE_HEADERS
from testkit.wire import (
    ANTHROPIC_HEADERS,
    BEDROCK_HEADERS,
    GEMINI_HEADERS,
    OLLAMA_HEADERS,
    bedrock_event,
    gemini_chunk,
    ndjson_line,
    sse_event,
)


@dataclass(frozen=True)
class Thinking:
    thoughts: Sequence[str] = ("Two", " plus two", " is four.")
    answer: Sequence[str] = ("4", ".")
    first_thought: float = 0.0  # delay before the first thought
    first_answer: float = 0.0  # delay between the last thought and the first answer piece
    input_tokens: int = 12
    reasoning_tokens: int = 30
    answer_tokens: int = 2
    model: str = ""


def _timed(pieces: list[bytes], delay: float) -> list[Step]:
    return [Step(p, delay if i == 0 else 0.0) for i, p in enumerate(pieces)]


# OpenAI Chat Completions and compatible servers -----------------------------------------


def _chat_body(model: str, **fields: object) -> bytes:
    body = {
        "id": "chatcmpl-think",
        "object": "chat.completion.chunk",
        "created": 1770950834,
        "model": model,
        "system_fingerprint": "fp_think",
        **fields,
    }
    return f"data: {json.dumps(body)}\n\n".encode()


def _chat_chunk(plan: Thinking, delta: dict[str, object], model: str) -> bytes:
    choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": None}
    return _chat_body(model, choices=[choice])


def _chat_usage(plan: Thinking, model: str) -> bytes:
    output = plan.reasoning_tokens + plan.answer_tokens
    usage = {
        "prompt_tokens": plan.input_tokens,
        "completion_tokens": output,
        "total_tokens": plan.input_tokens + output,
        "completion_tokens_details": {"reasoning_tokens": plan.reasoning_tokens},
    }
    return _chat_body(model, choices=[], usage=usage)


def openai_reasoning_script(plan: Thinking, field: str = "reasoning_content") -> Script:
    """DeepSeek / vLLM: reasoning in ``delta.<field>``, then the answer in ``delta.content``."""
    model = plan.model or "deepseek-reasoner"
    thoughts = [_chat_chunk(plan, {field: t, "content": None}, model) for t in plan.thoughts]
    answer = [_chat_chunk(plan, {"content": a, field: None}, model) for a in plan.answer]
    body = [*_timed(thoughts, plan.first_thought), *_timed(answer, plan.first_answer)]
    return _chat_stream(plan, model, {"role": "assistant", "content": None, field: ""}, body)


def openai_silent_reasoning_script(plan: Thinking) -> Script:
    """OpenAI o-series / gpt-5: no thoughts on the wire, only their count in the usage."""
    model = plan.model or "o4-mini-2025-04-16"
    answer = [_chat_chunk(plan, {"content": a}, model) for a in plan.answer]
    body = _timed(answer, plan.first_thought + plan.first_answer)
    return _chat_stream(plan, model, {"role": "assistant", "content": "", "refusal": None}, body)


def _chat_stream(plan: Thinking, model: str, role: dict[str, object], body: list[Step]) -> Script:
    """The role chunk, ``body``, the usage chunk and ``[DONE]``."""
    steps = [Step(_chat_chunk(plan, role, model)), *body, Step(_chat_usage(plan, model))]
    return Script(headers=SSE_HEADERS, steps=[*steps, Step(DONE.encode())])


# Anthropic Messages with extended thinking ----------------------------------------------


def anthropic_thinking_script(plan: Thinking) -> Script:
    model = plan.model or "claude-sonnet-4-5-20250929"
    start = {
        "type": "message_start",
        "message": {
            "id": "msg_think",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": plan.input_tokens, "output_tokens": 1},
        },
    }

    def delta(index: int, body: dict[str, str]) -> bytes:
        data = {"type": "content_block_delta", "index": index, "delta": body}
        return sse_event("content_block_delta", data)

    def block(index: int, body: dict[str, str]) -> bytes:
        data = {"type": "content_block_start", "index": index, "content_block": body}
        return sse_event("content_block_start", data)

    def stop(index: int) -> bytes:
        return sse_event("content_block_stop", {"type": "content_block_stop", "index": index})

    thoughts = [delta(0, {"type": "thinking_delta", "thinking": t}) for t in plan.thoughts]
    answer = [delta(1, {"type": "text_delta", "text": a}) for a in plan.answer]
    usage = {"output_tokens": plan.reasoning_tokens + plan.answer_tokens}
    tail = [
        stop(1),
        sse_event(
            "message_delta",
            {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": usage},
        ),
        sse_event("message_stop", {"type": "message_stop"}),
    ]
    steps = [
        Step(sse_event("message_start", start)),
        Step(block(0, {"type": "thinking", "thinking": "", "signature": ""})),
        *_timed(thoughts, plan.first_thought),
        Step(delta(0, {"type": "signature_delta", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3h"})),
        Step(stop(0)),
        Step(block(1, {"type": "text", "text": ""})),
        *_timed(answer, plan.first_answer),
        *[Step(t) for t in tail],
    ]
    return Script(headers=ANTHROPIC_HEADERS, steps=steps)


# Gemini thought summaries ---------------------------------------------------------------


def gemini_thinking_script(plan: Thinking) -> Script:
    model = plan.model or "gemini-2.5-flash"

    def chunk(part: dict[str, object], last: bool, answered: bool) -> bytes:
        candidate: dict[str, object] = {"content": {"parts": [part], "role": "model"}, "index": 0}
        usage: dict[str, object] = {
            "promptTokenCount": plan.input_tokens,
            "thoughtsTokenCount": plan.reasoning_tokens,
        }
        if answered:
            usage["candidatesTokenCount"] = plan.answer_tokens
        if last:
            candidate["finishReason"] = "STOP"
        return gemini_chunk(
            {"candidates": [candidate], "usageMetadata": usage, "modelVersion": model}
        )

    thoughts = [chunk({"text": t, "thought": True}, False, False) for t in plan.thoughts]
    n = len(plan.answer)
    answer = [chunk({"text": a}, i == n - 1, True) for i, a in enumerate(plan.answer)]
    steps = [*_timed(thoughts, plan.first_thought), *_timed(answer, plan.first_answer)]
    return Script(headers=GEMINI_HEADERS, steps=steps)


# Ollama ``think: true`` -------------------------------------------------------------------


def ollama_thinking_script(plan: Thinking) -> Script:
    model = plan.model or "qwen3"
    stamp = "2025-05-29T09:35:56.012222Z"

    def line(message: dict[str, str]) -> bytes:
        body = {"model": model, "created_at": stamp, "message": message, "done": False}
        return ndjson_line(body)

    thoughts = [line({"role": "assistant", "content": "", "thinking": t}) for t in plan.thoughts]
    answer = [line({"role": "assistant", "content": a}) for a in plan.answer]
    final = {
        "model": model,
        "created_at": stamp,
        "message": {"role": "assistant", "content": ""},
        "done_reason": "stop",
        "done": True,
        "prompt_eval_count": plan.input_tokens,
        "eval_count": plan.reasoning_tokens + plan.answer_tokens,
    }
    steps = [
        *_timed(thoughts, plan.first_thought),
        *_timed(answer, plan.first_answer),
        Step(ndjson_line(final)),
    ]
    return Script(headers=OLLAMA_HEADERS, steps=steps)


# Bedrock ConverseStream reasoningContent ----------------------------------------------------


def bedrock_reasoning_script(plan: Thinking, invoked_model: str | None = None) -> Script:
    def delta(index: int, body: dict[str, object]) -> bytes:
        return bedrock_event("contentBlockDelta", {"delta": body, "contentBlockIndex": index})

    thoughts = [delta(0, {"reasoningContent": {"text": t}}) for t in plan.thoughts]
    answer = [delta(1, {"text": a}) for a in plan.answer]
    output = plan.reasoning_tokens + plan.answer_tokens
    metadata: dict[str, object] = {
        "usage": {
            "inputTokens": plan.input_tokens,
            "outputTokens": output,
            "totalTokens": plan.input_tokens + output,
        },
        "metrics": {"latencyMs": 1234},
    }
    if invoked_model:
        metadata["trace"] = {"promptRouter": {"invokedModelId": invoked_model}}
    steps = [
        Step(bedrock_event("messageStart", {"role": "assistant"})),
        *_timed(thoughts, plan.first_thought),
        Step(delta(0, {"reasoningContent": {"signature": "c2lnbmF0dXJl"}})),
        Step(bedrock_event("contentBlockStop", {"contentBlockIndex": 0})),
        *_timed(answer, plan.first_answer),
        Step(bedrock_event("contentBlockStop", {"contentBlockIndex": 1})),
        Step(bedrock_event("messageStop", {"stopReason": "end_turn"})),
        Step(bedrock_event("metadata", metadata)),
    ]
    return Script(headers=BEDROCK_HEADERS, steps=steps)
