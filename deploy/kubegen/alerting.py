"""An AlertmanagerConfig (prometheus-operator, v1alpha1) with the routes, inhibitions and
receivers of ``alertmanager/alertmanager.yml``, translated key for key.

The operator adds a ``namespace`` matcher to every route and inhibition of the object, so
these apply to the alerts of the namespace LLMscope is deployed in. Receivers keep the
file's webhook URL; an overlay points them at a real receiver (docs/deploy.md).
"""

from __future__ import annotations

import re
from typing import Any

from deploy.kubegen.common import RELEASE, ROOT, load, metadata

SOURCE = "alertmanager/alertmanager.yml"
_MATCHER = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"(.*)"\s*$')
_ROUTE_KEYS = {
    "receiver": "receiver",
    "group_by": "groupBy",
    "group_wait": "groupWait",
    "group_interval": "groupInterval",
    "repeat_interval": "repeatInterval",
    "continue": "continue",
}


def alertmanager_config() -> dict[str, Any]:
    config = load(ROOT / "alertmanager" / "alertmanager.yml")
    return {
        "apiVersion": "monitoring.coreos.com/v1alpha1",
        "kind": "AlertmanagerConfig",
        "metadata": metadata("llmscope", **RELEASE),
        "spec": {
            "route": _route(config["route"]),
            "inhibitRules": [_inhibit(rule) for rule in config.get("inhibit_rules", [])],
            "receivers": [_receiver(r) for r in config["receivers"]],
        },
    }


def matcher(text: str) -> dict[str, str]:
    """``severity="critical"`` -> the operator's ``{name, value, matchType}``."""
    found = _MATCHER.match(text)
    if found is None:
        raise ValueError(f"{SOURCE}: cannot translate matcher {text!r}")
    name, match_type, value = found.groups()
    return {"name": name, "value": value.replace('\\"', '"'), "matchType": match_type}


def _route(route: dict[str, Any]) -> dict[str, Any]:
    out = {new: route[old] for old, new in _ROUTE_KEYS.items() if old in route}
    if "matchers" in route:
        out["matchers"] = [matcher(m) for m in route["matchers"]]
    if "routes" in route:
        out["routes"] = [_route(child) for child in route["routes"]]
    return out


def _inhibit(rule: dict[str, Any]) -> dict[str, Any]:
    return {
        "sourceMatch": [matcher(m) for m in rule.get("source_matchers", [])],
        "targetMatch": [matcher(m) for m in rule.get("target_matchers", [])],
        "equal": list(rule.get("equal", [])),
    }


def _receiver(receiver: dict[str, Any]) -> dict[str, Any]:
    hooks = [
        {"url": hook["url"], "sendResolved": bool(hook.get("send_resolved", True))}
        for hook in receiver.get("webhook_configs", [])
    ]
    return {"name": receiver["name"], **({"webhookConfigs": hooks} if hooks else {})}
