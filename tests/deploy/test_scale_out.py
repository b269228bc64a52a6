"""examples/scale-out/prometheus.yml: promtool accepts it, and two real Prometheus servers
running it as shards 0 and 1 scrape every exporter exactly once between them."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from testkit.realservers import PROMTOOL, http_get, prometheus, require

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "scale-out" / "prometheus.yml"


def shard(text: str, number: int) -> str:
    assert 'regex: "0"' in text
    return text.replace('regex: "0"', f'regex: "{number}"').replace(
        'prometheus_shard: "0"', f'prometheus_shard: "{number}"'
    )


def test_promtool_accepts_the_example_with_the_shipped_rules() -> None:
    check = subprocess.run(
        [require(PROMTOOL), "check", "config", str(EXAMPLE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "rule files found" in check.stdout


def exporters_scraped(config: str) -> set[str]:
    # Rules are checked above; here only the scrape side runs.
    runnable = config.replace("  - ../../prometheus/rules/*.yml\n", "")
    with prometheus(runnable) as server:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # discovery hands targets over within seconds
            data = json.loads(http_get(f"{server.url}/api/v1/targets?state=any"))["data"]
            seen = [t["discoveredLabels"] for t in data["activeTargets"] + data["droppedTargets"]]
            if sum(t.get("job") == "llmscope-exporter" for t in seen) == 4:
                break
            time.sleep(0.2)
    return {
        t["discoveredLabels"]["__address__"]
        for t in data["activeTargets"]
        if t["labels"]["job"] == "llmscope-exporter"
    }


def test_two_prometheus_shards_split_the_exporters_between_them() -> None:
    text = EXAMPLE.read_text()
    first, second = exporters_scraped(shard(text, 0)), exporters_scraped(shard(text, 1))
    assert first and second
    assert first.isdisjoint(second)
    assert len(first | second) == 4
