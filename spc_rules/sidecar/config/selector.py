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
    (?P<value>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)\s*(?P<sep>,|$)""",
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
                "values in double or single quotes or backticks)"
            )
        raw = match["value"]
        value = raw[1:-1] if raw.startswith("`") else _unquote(raw)
        op = _op(match["op"])
        if op in ("=~", "!~"):
            check_regex(value, match["name"])
        matchers.append(Matcher(match["name"], op, value))
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


# Python's re accepts these, Prometheus' RE2 does not: lookaround and backreferences.
_NOT_RE2 = re.compile(r"\(\?<?[=!]|\\[1-9]")


def check_regex(pattern: str, label: str) -> None:
    """ValueError unless ``pattern`` is a regular expression Prometheus accepts (RE2 syntax,
    anchored at both ends by Prometheus itself)."""
    try:
        re.compile(pattern)
    except re.error as err:
        raise ValueError(f'{label}: invalid regular expression "{pattern}": {err}') from None
    if _NOT_RE2.search(pattern):
        raise ValueError(
            f'{label}: invalid regular expression "{pattern}": lookaround and backreferences '
            "are not RE2 syntax, which Prometheus uses"
        )


def _unquote(quoted: str) -> str:
    """A PromQL string in double or single quotes, with Go's escapes, as its value."""
    if quoted.startswith("'"):
        body, out, i = quoted[1:-1], [], 0
        while i < len(body):
            if body[i] == "\\" and i + 1 < len(body):
                pair = body[i : i + 2]
                out.append("'" if pair == "\\'" else pair)
                i += 2
            else:
                out.append('\\"' if body[i] == '"' else body[i])
                i += 1
        quoted = '"' + "".join(out) + '"'
    try:
        value = json.loads(quoted)
    except json.JSONDecodeError as err:
        raise ValueError(f"bad escape in {quoted}: {err.msg}") from None
    if not isinstance(value, str):
        raise ValueError(f"bad string {quoted}")
    return value
