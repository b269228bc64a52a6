"""Label matchers of a chart's selector: parsed once from the config, rendered into PromQL.

A chart names a histogram and narrows it with matchers written as in PromQL
(``{error_type="", gen_ai_request_model=~"gpt-.*"}``). They are parsed here so that a typo
is a config error with a line number instead of a failed query every cycle.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Literal

Op = Literal["=", "!=", "=~", "!~"]

LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")

_MATCHER = re.compile(
    r"""\s*(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)\s*(?P<op>=~|!~|!=|=)\s*
    (?P<value>"(?:[^"\\]|\\.)*"|`[^`]*`)\s*(?P<sep>,|$)""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Matcher:
    name: str
    op: Op
    value: str

    def render(self) -> str:
        return f"{self.name}{self.op}{json.dumps(self.value, ensure_ascii=False)}"


def parse_selector(text: str) -> tuple[Matcher, ...]:
    """``{a="x", b!~"y"}`` (braces optional) into matchers; ValueError names what is wrong."""
    body = text.strip()
    if body.startswith("{"):
        if not body.endswith("}"):
            raise ValueError(f"selector {text!r} has no closing brace")
        body = body[1:-1]
    matchers: list[Matcher] = []
    pos = 0
    body = body.strip()
    while pos < len(body):
        match = _MATCHER.match(body, pos)
        if match is None:
            raise ValueError(
                f'cannot read matcher at "{body[pos : pos + 30]}" in {text!r} '
                '(use label="value", label!="value", label=~"regex" or label!~"regex", '
                "values in double quotes or backticks)"
            )
        raw = match["value"]
        value = raw[1:-1] if raw.startswith("`") else _unquote(raw)
        matchers.append(Matcher(match["name"], _op(match["op"]), value))
        pos = match.end()
    return tuple(check_matchers(matchers))


def check_matchers(matchers: list[Matcher]) -> list[Matcher]:
    for m in matchers:
        if m.name == "__name__":
            raise ValueError("the selector may not match __name__: the chart's metric names it")
    return matchers


def render_selector(names: tuple[str, ...], matchers: tuple[Matcher, ...]) -> str:
    """One PromQL selector for all ``names`` (e.g. a histogram's _sum and _count) at once."""
    pattern = "|".join(re.escape(n) for n in names)
    parts = [f'__name__=~"{pattern}"', *(m.render() for m in matchers)]
    return "{" + ",".join(parts) + "}"


def _op(text: str) -> Op:
    if text == "=~":
        return "=~"
    if text == "!~":
        return "!~"
    if text == "!=":
        return "!="
    return "="


def _unquote(quoted: str) -> str:
    try:
        value = json.loads(quoted)
    except json.JSONDecodeError as err:
        raise ValueError(f"bad escape in {quoted}: {err.msg}") from None
    if not isinstance(value, str):
        raise ValueError(f"bad string {quoted}")
    return value
