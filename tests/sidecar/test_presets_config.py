"""Issue 23 point 4: presets in a file (presets: auto | none | [engines], preset: charts with
overrides), every bad entry's exact error, and which presets run against the stored names."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Iterable

import pytest

from servicekit.errors import ConfigError
from spc_rules.sidecar import presetwatch
from spc_rules.sidecar.config.loader import SidecarConfig, builtin_config, load_text
from spc_rules.sidecar.config.presets import catalog, resolve, wanted_names
from spc_rules.sidecar.discovery import DiscoveryError
from spc_rules.sidecar.presetwatch import PresetWatcher


def _load(text: str) -> SidecarConfig:
    return load_text(textwrap.dedent(text), "t.yml")


def _names(config: SidecarConfig, found: Iterable[str] | None) -> set[str]:
    stored = None if found is None else frozenset(found)
    return {p.chart.name for p in resolve(config.presets, config.charts, stored)}


def _stored(*metrics: str) -> set[str]:
    return {f"{m}{suffix}" for m in metrics for suffix in ("_sum", "_count")}


def test_litellm_charts_say_whose_time_they_measure() -> None:
    config = _load("presets: [litellm]\n")
    sides = {p.chart.name: p.chart.side for p in resolve(config.presets, (), None)}
    assert sides == {
        "litellm_request_latency": "unknown",
        "litellm_api_latency": "provider",
        "litellm_api_time_to_first_token": "provider",
        "litellm_overhead": "ours",
        "litellm_queue_time": "ours",
        "litellm_failures": "unknown",
    }


def test_every_engine_has_latency_charts_and_all_but_trtllm_a_failure_share() -> None:
    engines = {e.name: e for e in catalog()}
    assert set(engines) == {"vllm", "sglang", "tgi", "litellm", "trtllm"}
    for engine in engines.values():
        assert engine.source and all(name.startswith(engine.name + "_") for name, _ in engine.nodes)
    charts = {p.chart.name: p.chart for p in resolve(builtin_config().presets, (), None)}
    assert charts == {}  # auto with no answer from Prometheus: nothing yet
    every = _load("presets: [vllm, sglang, tgi, litellm, trtllm]\n")
    charts = {p.chart.name: p.chart for p in resolve(every.presets, (), None)}
    p_charts = {n for n, c in charts.items() if c.kind == "p"}
    assert p_charts == {"vllm_aborts", "sglang_aborts", "tgi_failures", "litellm_failures"}
    assert charts["tgi_request_duration"].by == ("job", "instance")
    assert charts["vllm_aborts"].proportion is not None
    assert charts["vllm_aborts"].proportion.numerator.text() == (
        'vllm:request_success_total{finished_reason="abort"}'
    )
    # Per-token histograms count tokens: judged without the log-normal subgroup model.
    assert not charts["sglang_inter_token_latency"].log
    assert not charts["vllm_time_per_output_token"].log
    assert charts["vllm_e2e_latency"].log


def test_a_file_without_charts_charts_what_it_finds() -> None:
    config = _load("global: {evaluation: 2h}\n")
    assert config.presets.mode == "auto" and config.charts == ()
    stored = _stored("vllm:e2e_request_latency_seconds", "tgi_request_duration")
    assert _names(config, stored) == {"vllm_e2e_latency", "tgi_request_duration"}
    # A preset chart takes the file's global defaults like any other chart.
    chart = resolve(config.presets, (), frozenset(stored))[0].chart
    assert chart.evaluation == 7200.0


def test_a_list_of_engines_and_none() -> None:
    stored = _stored("vllm:e2e_request_latency_seconds", "litellm_overhead_latency_metric")
    stored |= _stored("sglang:e2e_request_latency_seconds")
    config = _load("presets: [vllm, litellm]\n")
    assert _names(config, stored) == {"vllm_e2e_latency", "litellm_overhead"}
    # Prometheus not answering: the listed engines get all their charts (empty ones say so).
    assert "vllm_queue_time" in _names(config, None)
    assert "sglang_e2e_latency" not in _names(config, None)
    none = _load("presets: none\ncharts:\n  - {name: a, metric: m}\n")
    assert _names(none, stored) == set()
    # A file with charts and no presets key keeps exactly its charts.
    assert _load("charts:\n  - {name: a, metric: m}\n").presets.mode == "none"


def test_a_chart_starts_from_a_preset_and_changes_fields() -> None:
    config = _load(
        """
        presets: auto
        charts:
          - preset: vllm/e2e_latency
            usl: 10s
            ewma: true
          - preset: vllm/queue_time
            name: vllm_queue_slo
            by: [model_name, instance]
        """
    )
    e2e, queue = config.charts
    assert (e2e.name, e2e.metric, e2e.by, e2e.usl) == (
        "vllm_e2e_latency",
        "vllm:e2e_request_latency_seconds",
        ("model_name",),
        10.0,
    )
    assert "ewma" in e2e.signals
    assert (queue.name, queue.by) == ("vllm_queue_slo", ("model_name", "instance"))
    stored = _stored("vllm:e2e_request_latency_seconds", "vllm:request_queue_time_seconds")
    # The presets they started from are not charted a second time.
    assert _names(config, stored) == set()


def test_a_files_chart_wins_a_name_clash_with_a_preset() -> None:
    config = _load("presets: [tgi]\ncharts:\n  - {name: tgi_queue_time, metric: other}\n")
    assert _names(config, None) == {"tgi_request_duration", "tgi_time_per_token", "tgi_failures"}


BAD = [
    (
        "presets: [vllm, ollama]\n",
        [
            't.yml:1: presets[1]: unknown engine "ollama" '
            "(known: litellm, sglang, tgi, trtllm, vllm)"
        ],
    ),
    ("presets: [vllm, vllm]\n", ['t.yml:1: presets[1]: "vllm" is listed twice']),
    ("presets: maybe\n", ['t.yml:1: presets: unknown presets mode "maybe" (known: auto, none)']),
    ("presets: {a: 1}\n", ["t.yml:1: presets: expected a list, got a mapping"]),
    (
        "presets: none\ncharts:\n  - preset: vllm/e2e\n",
        [
            't.yml:3: charts[0].preset: unknown preset "vllm/e2e" (known: vllm/e2e_latency, '
            "vllm/time_to_first_token, vllm/time_per_output_token, vllm/inter_token_latency, "
            "vllm/queue_time, vllm/aborts)"
        ],
    ),
    (
        "charts:\n  - preset: ollama/e2e\n",
        [
            't.yml:2: charts[0].preset: unknown preset "ollama/e2e" '
            "(engines: litellm, sglang, tgi, trtllm, vllm)"
        ],
    ),
    ("charts:\n  - preset: 3\n", ["t.yml:2: charts[0].preset: expected a non-empty string, got 3"]),
    (
        "charts:\n  - preset: vllm/aborts\n    metric: x\n",
        ["t.yml:3: charts[0].metric: not used by a kind p chart"],
    ),
    (
        "charts:\n  - preset: tgi/queue_time\n    by: [le]\n",
        ['t.yml:3: charts[0].by[0]: "le" is a label the sidecar sets itself'],
    ),
    (
        "charts:\n  - preset: vllm/e2e_latency\n    name: a\n  - name: a\n    metric: m\n",
        ['t.yml:4: charts[1].name: duplicate chart name "a" (also at line 3)'],
    ),
]


@pytest.mark.parametrize(("text", "lines"), BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_preset_entries_report_their_line(text: str, lines: list[str]) -> None:
    with pytest.raises(ConfigError) as caught:
        load_text(text, "t.yml")
    assert str(caught.value).splitlines() == lines


def test_an_unknown_key_beside_a_preset_is_reported_at_its_line() -> None:
    with pytest.raises(ConfigError) as caught:
        load_text("charts:\n  - preset: vllm/e2e_latency\n    colour: red\n", "t.yml")
    assert str(caught.value).startswith('t.yml:3: charts[0].colour: unknown key "colour"')


class _Prometheus:
    """What discovery would answer, changed by the test; ``down`` makes it fail."""

    def __init__(self, names: set[str]) -> None:
        self.names = names
        self.down = False
        self.asked: list[frozenset[str]] = []

    def __call__(self, url: str, names: Iterable[str], timeout: float) -> frozenset[str]:
        self.asked.append(frozenset(names))
        if self.down:
            raise DiscoveryError(f"cannot ask {url} for metric names: refused")
        return frozenset(names) & frozenset(self.names)


def test_the_watcher_adds_found_presets_and_keeps_them_while_prometheus_is_down() -> None:
    prom = _Prometheus(_stored("tgi_request_duration"))
    watcher = PresetWatcher("http://prom", prom)
    config = watcher.apply(builtin_config())
    assert [c.name for c in config.charts][-1] == "tgi_request_duration"
    assert len(config.charts) == len(builtin_config().charts) + 1
    assert prom.asked[0] == frozenset(wanted_names(builtin_config().presets))
    prom.down = True
    again = watcher.apply(builtin_config())
    assert again.charts == config.charts
    assert watcher.failing == "cannot ask http://prom for metric names: refused"
    # presets: none asks nothing.
    asked = len(prom.asked)
    plain = _load("charts:\n  - {name: a, metric: m}\n")
    assert watcher.apply(plain) is plain and len(prom.asked) == asked


def test_the_watcher_reloads_when_an_engine_appears(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(presetwatch, "RETRY", 0.01)
    prom = _Prometheus(set())
    watcher = PresetWatcher("http://prom", prom)
    current = watcher.apply(_load("global: {presets_refresh: 10ms}\n"))
    assert current.presets_refresh == 0.01
    reloads: list[int] = []

    async def scenario() -> None:
        task = asyncio.create_task(watcher.watch(lambda: current, lambda: reloads.append(1)))
        await asyncio.sleep(0.1)
        assert reloads == []  # nothing new
        prom.names = _stored("vllm:e2e_request_latency_seconds")
        for _ in range(100):
            if reloads:
                break
            await asyncio.sleep(0.02)
        task.cancel()

    asyncio.run(scenario())
    assert reloads
