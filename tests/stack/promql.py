"""A small PromQL scanner for the lint rules that need structure, not evaluation.

It walks an expression once and reports range selectors and metric names with the
function calls around them. Parsing proper is left to a real Prometheus (every expression
also goes through its query API); this only answers "which function owns this range?".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_NUMBER = re.compile(r"[0-9.][0-9A-Za-z.+]*")
# Words followed by a parenthesised label list, not a call.
_GROUPING = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
_AGGREGATIONS = frozenset(
    {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values"}
    | {"bottomk", "topk", "quantile"}
)
_KEYWORDS = _GROUPING | _AGGREGATIONS | {"and", "or", "unless", "bool", "offset", "atan2"}


@dataclass(frozen=True)
class Metric:
    name: str
    calls: tuple[str, ...]  # enclosing calls, innermost last ("" for plain parentheses)
    ranged: bool  # followed by a range selector: name{...}[...]


@dataclass(frozen=True)
class Range:
    duration: str
    calls: tuple[str, ...]


def _skip_string(expr: str, i: int) -> int:
    """Index just after the string literal that starts at ``i``."""
    quote = expr[i]
    i += 1
    while i < len(expr) and expr[i] != quote:
        i += 2 if expr[i] == "\\" and quote != "`" else 1
    return i + 1


def _skip_braces(expr: str, i: int) -> int:
    """Index just after the label matchers that start at ``i`` (an opening brace)."""
    i += 1
    while i < len(expr) and expr[i] != "}":
        i = _skip_string(expr, i) if expr[i] in "\"'`" else i + 1
    return i + 1


def _ranged_after(expr: str, i: int) -> bool:
    while i < len(expr) and expr[i].isspace():
        i += 1
    if i < len(expr) and expr[i] == "{":
        i = _skip_braces(expr, i)
        while i < len(expr) and expr[i].isspace():
            i += 1
    return i < len(expr) and expr[i] == "["


def scan(expr: str) -> Iterator[Metric | Range]:
    calls: list[str] = []
    pending = ""  # the function name waiting for its opening parenthesis
    i = 0
    while i < len(expr):
        c = expr[i]
        if c in "\"'`":
            i = _skip_string(expr, i)
            continue
        if c == "{":
            i = _skip_braces(expr, i)
            continue
        if c == "(":
            calls.append(pending)
            pending = ""
        elif c == ")":
            if calls:
                calls.pop()
        elif c == "[":
            end = expr.index("]", i)
            if ":" not in expr[i:end]:  # a subquery's [range:step] is not a range selector
                yield Range(expr[i + 1 : end].strip(), tuple(calls))
            i = end
        elif c.isdigit() or (c == "." and expr[i + 1 : i + 2].isdigit()):
            i = _NUMBER.match(expr, i).end()  # type: ignore[union-attr]
            continue
        elif match := _IDENT.match(expr, i):
            word, i = match.group(), match.end()
            rest = expr[i:].lstrip()
            if rest.startswith("(") and word not in ("and", "or", "unless"):
                pending = word
            elif word not in _KEYWORDS and not (calls and calls[-1] in _GROUPING):
                yield Metric(word, tuple(calls), _ranged_after(expr, i))
            continue
        i += 1
