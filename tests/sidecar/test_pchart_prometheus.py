"""Issue 15, point 5, on stored data: a backfilled Prometheus holds a day and more of probe
counters and canary counters, and the running ``llmscope-spc`` process judges them with
p charts. The error share of one target jumps and pages; the model behind another target
changes its answers and the drift chart pages; every other series stays quiet over the whole
23 hours judged (no page, no ticket).

The canary counters are written as the exporter writes them: a real ``CanaryBook`` judges
every simulated answer (normalised, fingerprinted, compared with the modal answer) and its
counters are scraped every 30 s. Identity changes (LLMscopeModelChanged) are tested on the
exporter's metrics and the rule itself: tests/exporter and tests/rules.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from exporter.canary.book import CanaryBook
from exporter.canary.state import StateFile
from exporter.config.canaries import CanaryConfig
from testkit.backends import backfilled_prometheus
from testkit.realservers import free_port, http_get
from tests.sidecar.expected import labels, parse
from tests.sidecar.process import sidecar_process

OPS = "test_ops"
OLD_WEIGHTS = [0.97, 0.02, 0.01]
NEW_WEIGHTS = [0.7, 0.1, 0.1, 0.1]
HOURS = 27  # the 23 h judged and the 4 h baseline before them
STEP_AGO = 45 * 60.0  # both causes begin 45 minutes before the newest sample
CONFIG = f"""
charts:
  - name: errors
    kind: p
    numerator: '{OPS}_count{{error_type!=""}}'
    denominator: {OPS}_count
    by: [target]
    subgroup: 5m
    evaluation: 23h
    baseline: 4h
    paging: {{reference: 4h}}
  - name: drift
    kind: p
    numerator: llmscope_canary_answers_different_total
    denominator: llmscope_canary_answers_compared_total
    by: [target, canary]
    subgroup: 5m
    evaluation: 23h
    baseline: 4h
    paging: {{reference: 4h}}
"""


def _probes(end: float, rng: np.random.Generator) -> list[str]:
    """A probe every 15 s per target, 2% failing; target e3 fails 15% after the step. Only
    the histogram's _count is written: it is all a p chart reads."""
    lines = [f"# TYPE {OPS}_count unknown"]
    ts = end - 15.0 * np.arange(HOURS * 240)[::-1]
    for i in range(4):
        rate = np.where((i == 3) & (ts > end - STEP_AGO), 0.15, 0.02)
        failed = rng.random(ts.size) < rate
        for error_type, mask in (("", ~failed), ("timeout", failed)):
            count = np.cumsum(mask)
            tag = f'target="e{i}"' + (f',error_type="{error_type}"' if error_type else "")
            for t, c in zip(ts.tolist(), count.tolist(), strict=True):
                lines.append(f"{OPS}_count{{{tag}}} {c} {t:.3f}")
    return lines


def _canaries(end: float, rng: np.random.Generator, state: Path) -> list[str]:
    """An answer a minute per target; target m3's model changes at the step: its main
    answer is another one, and it wanders more (the new normal is 30% different)."""
    book = CanaryBook({}, StateFile(state))
    targets = [f"m{i}" for i in range(4)]
    book.configure((t, CanaryConfig(name="capital", prompt="Capital of France?")) for t in targets)
    old = ["Paris.", "paris", "The capital of France is Paris."]
    new = ["Paris, France.", "It is Paris!", "Paris is the capital.", "PARIS, of course"]
    scrapes: dict[str, list[tuple[float, int, int]]] = {t: [] for t in targets}
    ts = end - 30.0 * np.arange(HOURS * 120)[::-1]
    for k, t in enumerate(ts.tolist()):
        for target in targets:
            if k % 2 == 0:
                swapped = target == "m3" and t > end - STEP_AGO
                answers, weights = (new, NEW_WEIGHTS) if swapped else (old, OLD_WEIGHTS)
                book.observe(target, "capital", str(rng.choice(answers, p=weights)))
            counts = book.counts[(target, "capital")]
            scrapes[target].append((t, counts.compared, counts.different))
    lines = []
    for family, column in (
        ("llmscope_canary_answers_compared", 1),
        ("llmscope_canary_answers_different", 2),
    ):
        lines.append(f"# TYPE {family} counter")
        for target, rows in scrapes.items():
            for row in rows:
                lines.append(
                    f'{family}_total{{target="{target}",canary="capital"}} {row[column]} '
                    f"{row[0]:.3f}"
                )
    return lines


def test_error_share_and_answer_drift_page_their_causes_and_nothing_else(tmp_path: Path) -> None:
    # Whole subgroups: the points do not depend on when the test runs.
    end = float(int(time.time()) // 300 * 300 - 300)
    rng = np.random.default_rng(1515)
    text = "\n".join([*_probes(end, rng), *_canaries(end, rng, tmp_path / "state.json")])
    (tmp_path / "spc.yml").write_text(CONFIG)
    series = {("errors", ("target", f"e{i}")) for i in range(4)}
    series |= {("drift", ("target", f"m{i}")) for i in range(4)}
    with (
        backfilled_prometheus(text + "\n# EOF\n") as prom,
        sidecar_process(tmp_path / "spc.yml", prom.url, free_port(), tmp_path / "spc.log") as url,
    ):
        deadline = time.monotonic() + 60
        while True:
            got = parse(http_get(f"{url}/metrics").decode())
            # Judged: every series has its limits flag, and the shifted ones their pages.
            judged = [k for k in got if k[0] == "llmscope_spc_limits_available"]
            active = [
                k
                for k in got
                if k[0] == "llmscope_spc_alarm_active" and ("severity", "page") in k[1]
            ]
            if (len(judged) >= len(series) and len(active) >= 2) or time.monotonic() > deadline:
                break
            time.sleep(0.5)

    def key(chart: str, target: str, **more: str) -> dict[str, str]:
        if chart == "errors":
            return {"chart": chart, "target": target, **more}
        pairs = {"series": f"target={target},canary=capital", "canary": "capital"}
        return {"chart": chart, "target": target, **pairs, **more}

    def value(name: str, chart: str, target: str, severity: str) -> float | None:
        return got.get((name, labels(**key(chart, target, severity=severity))))

    step = end - STEP_AGO
    for chart, target in (("errors", "e3"), ("drift", "m3")):
        assert value("llmscope_spc_alarm_active", chart, target, "page") == 1.0, (chart, target)
        started = value("llmscope_spc_alarm_started_timestamp_seconds", chart, target, "page")
        assert started is not None and step < started <= step + 40 * 60, (chart, target)
    for chart, prefix in (("errors", "e"), ("drift", "m")):
        for i in range(3):
            for severity in ("page", "ticket"):
                target = f"{prefix}{i}"
                where = (chart, target, severity)
                assert value("llmscope_spc_alarm_active", *where) is None, where  # closed
                # No episode anywhere in the 23 hours the first cycle judged.
                assert value("llmscope_spc_alarm_started_timestamp_seconds", *where) is None, where
        # Lines are shares: the center of an in-control series is near its rate (2%, 1%).
        center = got[("llmscope_spc_center", labels(**key(chart, f"{prefix}0")))]
        assert 0.001 < center < 0.06, (chart, center)
