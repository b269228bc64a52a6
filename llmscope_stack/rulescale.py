"""Rule files on a compressed timeline: every duration a rule waits or looks back over,
multiplied by the launcher's scale.

A rule's timeline is more than its ``for``: a burn-rate page over ``[5m]`` and ``[1h]``
windows, or a recording rule over ``[30m]`` that an alert reads, stays up exactly as long as
its windows hold the incident. So the copies scale the range of every range selector and
subquery (``[5m]``, ``[1h:1m]``), every ``offset``, each group's ``interval`` and each rule's
``for`` and ``keep_firing_for``. Recording rule names keep their window (``ratio_rate5m``):
they are names the alerts and dashboards read, not durations.
"""

from __future__ import annotations

import re
from typing import Any

from servicekit.yamlconf import parse_duration

_DURATION = r"(?:\d+(?:ms|[smhdwy]))+"
# A range selector or subquery: [5m], [1h:], [1h:1m]; never a label matcher's value, whose
# brackets sit inside quotes (a regex character class) and are skipped below.
_RANGE = re.compile(rf"\[(\s*)({_DURATION})(\s*)(?::(\s*)({_DURATION})?(\s*))?\]")
_OFFSET = re.compile(rf"\boffset(\s+)(-?)({_DURATION})\b")
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_RULE_KEYS = ("for", "keep_firing_for")


def scaled(text: str, scale: float) -> str:
    """A duration multiplied by ``scale``, in whole milliseconds (at least 1 ms)."""
    if scale == 1.0:
        return text
    return f"{max(1, round(parse_duration(text) * scale * 1000))}ms"


def scale_expr(expr: str, scale: float) -> str:
    """``expr`` with every range, subquery step and offset scaled; strings stay as they are."""
    if scale == 1.0:
        return expr
    out, position = [], 0
    for quoted in _QUOTED.finditer(expr):
        out.append(_scale_code(expr[position : quoted.start()], scale))
        out.append(quoted.group(0))
        position = quoted.end()
    out.append(_scale_code(expr[position:], scale))
    return "".join(out)


def scale_rules(doc: dict[str, Any], scale: float) -> dict[str, Any]:
    """A rule file (as loaded) on the compressed timeline; ``doc`` is changed in place."""
    for group in doc.get("groups", []):
        scale_keys(group, ("interval",), scale)
        for rule in group.get("rules", []):
            scale_keys(rule, _RULE_KEYS, scale)
            if isinstance(rule.get("expr"), str):
                rule["expr"] = scale_expr(rule["expr"], scale)
    return doc


def _scale_code(code: str, scale: float) -> str:
    def ranged(m: re.Match[str]) -> str:
        head = f"[{m.group(1)}{scaled(m.group(2), scale)}{m.group(3)}"
        if m.group(4) is None:  # no colon: a plain range
            return head + "]"
        step = scaled(m.group(5), scale) if m.group(5) else ""
        return f"{head}:{m.group(4)}{step}{m.group(6)}]"

    def offset(m: re.Match[str]) -> str:
        return f"offset{m.group(1)}{m.group(2)}{scaled(m.group(3), scale)}"

    return _OFFSET.sub(offset, _RANGE.sub(ranged, code))


def scale_keys(block: dict[str, Any], keys: tuple[str, ...], scale: float) -> None:
    """Scale the durations among ``keys``; other values (a baseline range) stay as they are."""
    for key in keys:
        value = block.get(key)
        if isinstance(value, str):
            try:
                block[key] = scaled(value, scale)
            except ValueError:
                continue
