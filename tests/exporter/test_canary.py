"""Canary questions: config, answer fingerprints, the modal window, drift and `expect` counts,
the state file across restarts, the metrics, and temperature 0 / seed on every wire format."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from exporter.app import Exporter
from exporter.canary.answers import ModalWindow, fingerprint, normalise
from exporter.canary.book import CanaryBook
from exporter.canary.jobs import canary_jobs
from exporter.canary.state import StateFile
from exporter.config.canaries import CanaryConfig
from exporter.configfile import load_text
from exporter.metrics.canary import CanaryCollector
from exporter.providers.table import PROVIDERS
from servicekit.errors import ConfigError
from testkit.realservers import PROMTOOL, require

TARGET = """
targets:
  - name: gpt
    provider: openai
    base_url: https://api.openai.com/v1
    model: gpt-4o-mini
    canaries:
      - name: capital
        prompt: "Capital of France? One word."
        expect: "(?i)paris"
        interval: 10m
        seed: 7
        window: 20
      - {name: sum, prompt: "2+2?", max_tokens: 4}
"""


def test_canaries_load_with_their_defaults() -> None:
    config = load_text(TARGET, "c.yml", {})
    capital, total = config.targets[0].canaries
    assert capital == CanaryConfig(
        "capital", "Capital of France? One word.", "(?i)paris", 600.0, 7, None, 20
    )
    assert (total.interval, total.seed, total.max_tokens, total.window, total.expect) == (
        300.0,
        None,
        4,
        50,
        None,
    )
    assert config.canary_state_file == "llmscope-canary-state.json"


def test_every_canary_problem_is_reported_at_once() -> None:
    text = """
global: {canary_state_file: /var/lib/llmscope/canary.json}
targets:
  - name: gpt
    provider: simulated
    model: m
    canaries:
      - {name: Bad Name, prompt: x}
      - {name: ok, prompt: x, expect: "(unclosed", window: 2}
      - {name: ok, prompt: y}
      - {name: lonely}
      - {name: empty, prompt: "", colour: blue}
"""
    with pytest.raises(ConfigError) as caught:
        load_text(text, "c.yml", {})
    assert str(caught.value).splitlines() == [
        "c.yml:8: targets[0].canaries[0].name: must be 1-40 characters of a-z, 0-9, _ and -",
        "c.yml:9: targets[0].canaries[1].expect: not a regular expression: "
        "missing ), unterminated subpattern at position 0",
        "c.yml:9: targets[0].canaries[1].window: must be at least 3, got 2",
        'c.yml:10: targets[0].canaries[2].name: duplicate canary "ok"',
        "c.yml:11: targets[0].canaries[3].prompt: required",
        'c.yml:12: targets[0].canaries[4].colour: unknown key "colour" (known: expect, interval, '
        "max_tokens, name, prompt, seed, window)",
        'c.yml:12: targets[0].canaries[4].prompt: expected a non-empty string, got ""',
    ]


def test_normalised_answers_and_fingerprints() -> None:
    assert normalise("  **Paris.**\n") == "paris"
    full_width = "\uff30\uff21\uff32\uff29\uff33"
    assert fingerprint("Paris.") == fingerprint(" paris ") == fingerprint(full_width)
    assert fingerprint("Paris, France") != fingerprint("Paris")
    assert len(fingerprint("x")) == 16


def test_the_modal_window_learns_evicts_and_refuses_ties() -> None:
    window = ModalWindow(4)
    window.add("a")
    window.add("b")
    assert window.modal() is None  # fewer than 3 answers
    window.add("a")
    assert window.modal() == "a" and window.modal_share() == pytest.approx(2 / 3)
    window.add("b")
    assert window.modal() is None  # a tie: 2 and 2
    window.add("b")  # evicts the first "a"
    assert window.recent == ("b", "a", "b", "b") and window.modal() == "b"


def _book(path: Path, window: int = 5, expect: str | None = "(?i)paris") -> CanaryBook:
    state = StateFile(path)
    book = CanaryBook(state.load(), state)
    book.configure([("gpt", CanaryConfig("capital", "q", expect, window=window))])
    return book


def test_drift_and_expect_are_counted_and_the_window_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state" / "canary.json"
    book = _book(path)
    verdicts = [book.observe("gpt", "capital", a) for a in ["Paris.", "paris", "Paris", "Lyon"]]
    assert [v.same_as_modal for v in verdicts] == [None, None, None, False]  # 3 answers first
    assert [v.expect_ok for v in verdicts] == [True, True, True, False]
    assert book.save()
    counts = book.counts[("gpt", "capital")]
    assert (counts.answers, counts.compared, counts.different, counts.expect_failures) == (
        4,
        1,
        1,
        1,
    )
    saved = json.loads(path.read_text())
    assert saved["windows"]["gpt"]["capital"] == [fingerprint("paris")] * 3 + [fingerprint("lyon")]
    assert "Lyon" not in path.read_text() and "aris" not in path.read_text()
    # A restart: counters start at zero, the modal answer is known at once.
    again = _book(path)
    assert again.observe("gpt", "capital", "Marseille").same_as_modal is False
    assert again.modal_share("gpt", "capital") == pytest.approx(3 / 5)
    # A changed prompt starts a fresh window.
    again.configure([("gpt", CanaryConfig("capital", "another question", None, window=5))])
    assert again.modal_share("gpt", "capital") is None


def test_a_broken_or_unwritable_state_file_is_logged_not_fatal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"version": 1, "windows": {"gpt": {"capital": [3]}}}')
    with caplog.at_level(logging.WARNING, "llmscope.canary"):
        book = _book(broken)
    assert "windows.gpt.capital must be a list of strings" in caplog.text
    assert book.modal_share("gpt", "capital") is None
    blocked = tmp_path / "file"
    blocked.write_text("")
    unwritable = _book(blocked / "canary.json")  # its parent is a file
    caplog.clear()
    with caplog.at_level(logging.ERROR, "llmscope.canary"):
        assert not unwritable.save()
        assert not unwritable.save()
    assert len(caplog.records) == 1 and "kept in memory" in caplog.text


def test_the_metrics_pass_promtool_and_never_carry_an_answer(tmp_path: Path) -> None:
    book = _book(tmp_path / "c.json", window=3)
    for answer in ["Paris", "Paris", "Paris", "Lyon is the answer"]:
        book.sent("gpt", "capital")
        book.observe("gpt", "capital", answer)
    registry = CollectorRegistry()
    registry.register(CanaryCollector(book))
    text = generate_latest(registry).decode()
    labels = '{canary="capital",target="gpt"}'
    for line in [
        f"llmscope_canary_probes_total{labels} 4.0",
        f"llmscope_canary_answers_total{labels} 4.0",
        f"llmscope_canary_answers_compared_total{labels} 1.0",
        f"llmscope_canary_answers_different_total{labels} 1.0",
        f"llmscope_canary_expect_failures_total{labels} 1.0",
        f"llmscope_canary_modal_answer_share{labels} 0.6666666666666666",
    ]:
        assert line in text
    assert "Lyon" not in text and "Paris" not in text
    lint = subprocess.run(
        [require(PROMTOOL), "check", "metrics"],
        input=text,
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0 and lint.stdout + lint.stderr == ""


@pytest.mark.parametrize(
    ("provider", "extra", "where", "seed_where"),
    [
        ("openai", ", base_url: 'http://h/v1'", ("temperature",), ("seed",)),
        ("anthropic", "", ("temperature",), None),
        ("gemini", "", ("generationConfig", "temperature"), ("generationConfig", "seed")),
        ("bedrock", ", region: us-east-1", ("inferenceConfig", "temperature"), None),
        ("ollama", "", ("options", "temperature"), ("options", "seed")),
    ],
)
def test_canary_probes_ask_for_temperature_0_and_the_seed(
    provider: str, extra: str, where: tuple[str, ...], seed_where: tuple[str, ...] | None
) -> None:
    text = f"""
targets:
  - {{name: t, provider: {provider}, model: m{extra},
     canaries: [{{name: c, prompt: "2+2?", seed: 7, max_tokens: 3}}]}}
"""
    target = load_text(text, "c.yml", {}).targets[0]
    job = canary_jobs([target])["t/canary/c"]
    assert (job.parent, job.probe_target.prompt, job.probe_target.max_tokens) == (target, "2+2?", 3)
    build = PROVIDERS[provider].build_call  # type: ignore[attr-defined]
    body = json.loads(build(job.probe_target, "2+2?", "key").body)
    plain = json.loads(build(target, "2+2?", "key").body)

    def dig(doc: dict[str, object], path: tuple[str, ...]) -> object:
        for key in path:
            doc = doc[key]  # type: ignore[assignment]
        return doc

    assert dig(body, where) == 0.0
    assert "temperature" not in json.dumps(plain)  # ordinary probes keep the provider's default
    if seed_where is not None:
        assert dig(body, seed_where) == 7
    else:
        assert "seed" not in json.dumps(body)


def test_canary_probes_run_on_their_schedule_and_count_against_the_budget(tmp_path: Path) -> None:
    state = tmp_path / "canary.json"
    config = load_text(
        f"""
global: {{canary_state_file: {state}}}
targets:
  - {{name: capped, provider: simulated, model: m, interval: 1h, ttft: 1ms, gap: 1ms,
     max_tokens: 4, budget: {{daily_tokens: 40}},
     canaries: [{{name: c, prompt: "Count.", interval: 50ms}}]}}
""",
        "t.yml",
        {},
    )
    registry = CollectorRegistry()

    async def go() -> None:
        exporter = Exporter(lambda: config, registry)
        await exporter.start()
        await asyncio.sleep(1.5)
        await exporter.stop()

    asyncio.run(go())
    value = registry.get_sample_value
    labels = {"target": "capped", "canary": "c"}
    sent = value("llmscope_canary_probes_total", labels)
    answered = value("llmscope_canary_answers_total", labels)
    spent = value("llmscope_budget_spent_today_tokens", {"target": "capped"})
    # Canary probes alone spend the target's budget (1 input + 4 output tokens each), then the
    # guard stops them: the overshoot is bounded by one probe.
    assert sent in (8.0, 9.0) and answered == sent
    assert spent is not None and 40 <= spent < 40 + 5
    assert value("llmscope_budget_paused", {"target": "capped"}) == 1
    assert json.loads(state.read_text())["windows"]["capped"]["c"]
