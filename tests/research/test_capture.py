"""``llmscope-spc session capture`` against a real Prometheus holding known histograms."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from testkit.backends import BackfilledPrometheus, backfilled_prometheus
from testkit.realservers import free_port
from tests.research.support import one_line, spc

DURATION = "gen_ai_client_operation_duration_seconds"
TTFT = "gen_ai_client_operation_time_to_first_answer_chunk_seconds"
T0 = 1_760_000_000.0
STEP = 15.0
SCRAPES = 40
FROM, TO = T0 + 5 * STEP, T0 + 35 * STEP


@dataclass
class Histogram:
    """One series' _sum and _count as scrapes saw them, and the points they make."""

    metric: str
    labels: dict[str, str]
    count: int = 0
    total: float = 0.0
    samples: list[tuple[float, int, float]] = field(default_factory=list)
    points: list[tuple[float, float, float]] = field(default_factory=list)  # t, value, size

    def scrape(self, t: float, observations: list[float], reset: bool = False) -> None:
        before = self.total
        if reset:  # the process restarted: counting starts again, no point at this scrape
            self.count, self.total, before = 0, 0.0, float("nan")
        for x in observations:
            self.count += 1
            self.total += x
        if observations and before == before:  # not NaN: no reset
            self.points.append((t, (self.total - before) / len(observations), len(observations)))
        self.samples.append((t, self.count, self.total))

    def openmetrics(self) -> list[str]:
        labels = ",".join(f'{k}="{v}"' for k, v in self.labels.items())
        out = []
        for t, count, total in self.samples:
            out.append(f'{self.metric}_bucket{{{labels},le="+Inf"}} {count} {t:.3f}')
            out.append(f"{self.metric}_count{{{labels}}} {count} {t:.3f}")
            out.append(f"{self.metric}_sum{{{labels}}} {total!r} {t:.3f}")
        return out


def fleet() -> list[Histogram]:
    a = Histogram(DURATION, {"target": "a"})
    b = Histogram(DURATION, {"target": "b"})
    failed = Histogram(DURATION, {"target": "a", "error_type": "timeout"})
    ttft = Histogram(TTFT, {"target": "a"})
    for i in range(SCRAPES):
        t = T0 + i * STEP
        x = 0.5 + 0.01 * (i % 7)
        if i == 10:
            a.scrape(t, [])  # no probe finished between two scrapes: no point
        elif i == 20:
            a.scrape(t, [x, x + 0.3])  # two: an X-bar point of size 2
        else:
            a.scrape(t, [x], reset=i == 30)
        b.scrape(t, [0.9 + 0.02 * (i % 5)])
        failed.scrape(t, [30.0])
        ttft.scrape(t, [0.1 + 0.001 * i])
    return [a, b, failed, ttft]


@pytest.fixture(scope="module")
def prometheus() -> Iterator[tuple[BackfilledPrometheus, list[Histogram]]]:
    series = fleet()
    lines = []
    for metric in (DURATION, TTFT):
        lines.append(f"# TYPE {metric} histogram")
        for h in series:
            if h.metric == metric:
                lines += h.openmetrics()
    with backfilled_prometheus("\n".join([*lines, "# EOF"]) + "\n") as backend:
        yield backend, series


def read_points(folder: Path) -> dict[tuple[str, str], list[tuple[float, float, float]]]:
    out: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
    with (folder / "points.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            key = (row["target"], row["metric"])
            out.setdefault(key, []).append(
                (float(row["time"]), float(row["value"]), float(row["size"]))
            )
    return out


def expected(h: Histogram) -> list[tuple[float, float, float]]:
    return [p for p in h.points if FROM < p[0] <= TO]


def test_capture_rebuilds_the_points_the_sidecar_judges(
    prometheus: tuple[BackfilledPrometheus, list[Histogram]], tmp_path: Path
) -> None:
    backend, (a, b, _failed, ttft) = prometheus
    out = tmp_path / "captured"
    result = spc(
        "session",
        "capture",
        "--prometheus.url",
        backend.url,
        "--chart",
        "duration",
        "--chart",
        "time_to_first_answer",
        "--from",
        str(FROM),
        "--to",
        "2025-10-09T09:02:05Z",
        "--out",
        str(out),
    )
    assert TO == 1760000525.0  # the RFC 3339 --to above
    assert result.returncode == 0, result.stderr
    got = read_points(out)
    # The failed probes (error_type="timeout") are not in the chart's selector.
    assert set(got) == {("a", "duration"), ("b", "duration"), ("a", "time_to_first_answer")}
    assert got[("a", "duration")] == expected(a)
    assert got[("b", "duration")] == expected(b)
    assert got[("a", "time_to_first_answer")] == expected(ttft)
    sizes = [size for _, _, size in got[("a", "duration")]]
    assert sizes.count(2.0) == 1 and len(sizes) == 30 - 2  # scrape 10 empty, 30 a reset
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["kind"] == "capture" and meta["start"] == FROM and meta["end"] == TO
    assert meta["capture"]["prometheus"] == backend.url
    assert meta["capture"]["charts"]["duration"]["selector"] == (
        f'{{__name__=~"{DURATION}_sum|{DURATION}_count",error_type=""}}'
    )
    assert meta["metrics"]["duration"] == {"unit": "seconds", "usl": None, "lsl": None, "log": True}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["targets"]["b"]["metrics"]["duration"]["points"] == 30
    assert "probes" not in summary["targets"]["b"]  # a capture has no probe records


def test_a_range_without_data_is_one_line(
    prometheus: tuple[BackfilledPrometheus, list[Histogram]], tmp_path: Path
) -> None:
    backend, _ = prometheus
    result = spc(
        "session",
        "capture",
        "--prometheus.url",
        backend.url,
        "--chart",
        "duration",
        "--from",
        str(T0 - 7200),
        "--to",
        str(T0 - 3600),
        "--out",
        str(tmp_path / "s"),
    )
    assert result.returncode == 1
    assert one_line(result) == (
        "llmscope-spc session capture: no data: duration has no points between "
        f"2025-10-09T06:53:20Z and 2025-10-09T07:53:20Z at {backend.url}"
    )
    assert not (tmp_path / "s").exists()


def test_an_unreachable_prometheus_is_one_line(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = spc(
        "session",
        "capture",
        "--prometheus.url",
        url,
        "--from",
        "now-1h",
        "--out",
        str(tmp_path / "s"),
    )
    assert result.returncode == 1
    line = one_line(result)
    assert line.startswith(
        f"llmscope-spc session capture: cannot read Prometheus at {url}: connect: cannot connect"
    )


def test_an_unknown_chart_is_one_line(tmp_path: Path) -> None:
    result = spc(
        "session", "capture", "--chart", "latency", "--from", "now-1h", "--out", str(tmp_path / "s")
    )
    assert result.returncode == 1
    assert one_line(result) == (
        "llmscope-spc session capture: unknown chart latency (the configuration has: "
        "duration, time_to_first_answer, time_per_output_chunk, network_setup, "
        "output_tokens_per_second)"
    )
