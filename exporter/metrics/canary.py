"""The canary families, built fresh at every scrape from the CanaryBook (collector pattern).

Labels are the target and the canary's configured name, both bounded by the configuration;
the answers themselves never appear. The sidecar's drift chart divides `..._different_total`
by `..._compared_total`, its `expect` chart `llmscope_canary_expect_failures_total` by
`llmscope_canary_answers_total` (docs/exporter.md, "Canary questions").
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

from exporter.canary.book import CanaryBook

LABELS = ["target", "canary"]

_COUNTERS = (
    ("probes", "llmscope_canary_probes", "Canary probes sent (they count against the budget)."),
    ("answers", "llmscope_canary_answers", "Canary probes that returned an answer."),
    (
        "expect_failures",
        "llmscope_canary_expect_failures",
        "Canary answers that did not match the canary's expect pattern.",
    ),
    (
        "compared",
        "llmscope_canary_answers_compared",
        "Canary answers compared with the modal answer of the recent window.",
    ),
    (
        "different",
        "llmscope_canary_answers_different",
        "Compared canary answers that differ from the modal answer.",
    ),
)


class CanaryCollector:
    def __init__(self, book: CanaryBook) -> None:
        self._book = book

    def describe(self) -> Iterable[Metric]:
        return self._families()

    def collect(self) -> Iterable[Metric]:
        families = self._families()
        counters, share = families[:-1], families[-1]
        for (target, canary), counts in sorted(self._book.counts.items()):
            for (field, _, _), family in zip(_COUNTERS, counters, strict=True):
                assert isinstance(family, CounterMetricFamily)
                family.add_metric([target, canary], getattr(counts, field))
            value = self._book.modal_share(target, canary)
            if value is not None:
                assert isinstance(share, GaugeMetricFamily)
                share.add_metric([target, canary], value)
        return families

    @staticmethod
    def _families() -> list[Metric]:
        families: list[Metric] = [
            CounterMetricFamily(name, help_text, labels=LABELS) for _, name, help_text in _COUNTERS
        ]
        families.append(
            GaugeMetricFamily(
                "llmscope_canary_modal_answer_share",
                "Share of the recent window held by the modal answer (1: always the same).",
                labels=LABELS,
            )
        )
        return families
