"""The report's sustainability section on sessions with energy: energy per 1,000 tokens with
intervals, grams with a carbon intensity, energy against latency, the change and its test,
checked in headless Chromium and in the PNG export."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from exporter.bench.energy import SIMULATED
from servicekit.sessionformat import FORMAT_VERSION, PROBE_COLUMNS, Point, write_rows
from tests.research.browser import drawn_charts, open_page
from tests.research.support import spc, write_session

METRICS: dict[str, dict[str, object]] = {"duration": {"unit": "seconds", "usl": None, "lsl": None}}
PROBES = 30
TOKENS = 50


def energy_session(folder: Path, seed: int, watts: float, start: float) -> dict[str, np.ndarray]:
    """A bench session of a local target drawing ``watts`` and a simulated one without
    energy; returns the local target's per-probe durations and joules."""
    rng = np.random.default_rng(seed)
    durations = rng.lognormal(np.log(1.0), 0.1, PROBES)
    joules = durations * watts * rng.uniform(0.9, 1.1, PROBES)
    points, rows = [], []
    for i in range(PROBES):
        t, d_i, j_i = start + 2 * i, float(durations[i]), float(joules[i])
        points += [Point(t, "local", "duration", d_i), Point(t, "sim", "duration", 0.5)]
        for target, d, j in (("local", d_i, j_i), ("sim", 0.5, None)):
            rows.append(
                {
                    "time": t,
                    "target": target,
                    "duration_seconds": d,
                    "output_tokens": TOKENS,
                    "error": "",
                    "cpu_energy_joules": j,
                }
            )
    write_session(folder, points, METRICS, start=start)
    write_rows(folder / "probes.csv", PROBE_COLUMNS, rows)
    meta = json.loads((folder / "metadata.json").read_text())
    meta["format"] = FORMAT_VERSION
    meta["energy"] = {
        "targets": {
            "local": {"sources": ["cpu"], "not_measured": None},
            "sim": {"sources": [], "not_measured": SIMULATED},
        },
        "carbon_intensity_g_per_kwh": None,
    }
    (folder / "metadata.json").write_text(json.dumps(meta))
    return {"durations": durations, "joules": joules}


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, np.ndarray]]:
    root = tmp_path_factory.mktemp("energy")
    energy_session(root / "cool", 1, 40.0, 1.7e9)
    hot = energy_session(root / "hot", 2, 60.0, 1.8e9)
    return root, hot


def wh_per_1k(joules: np.ndarray) -> np.ndarray:
    return joules / 3600 / TOKENS * 1000


def figures(text: str) -> dict[str, dict[str, object]]:
    found = re.search(r"for \(const \[id, figure\] of (\[.*\])\) \{", text, re.DOTALL)
    assert found is not None
    return dict(json.loads(found.group(1).replace("<\\/", "</")))


def test_the_section_shows_energy_grams_the_change_and_what_was_not_measured(
    sessions: tuple[Path, dict[str, np.ndarray]], tmp_path: Path
) -> None:
    root, hot = sessions
    out = tmp_path / "r"
    result = spc(
        "session", "report", str(root / "cool"), str(root / "hot"),
        "--out", str(out), "--png", "--carbon-intensity", "250",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    text = (out / "report.html").read_text()
    section = text[text.index('id="sustainability"') : text.index("<h2>Session cool</h2>")]
    median = float(np.median(wh_per_1k(hot["joules"])))
    hot_row = re.search(r"<tr><td>hot</td><td>local</td><td>30</td>(.*?)</tr>", section)
    assert hot_row is not None
    cells = re.findall(r"<td>(.*?)</td>", hot_row.group(1))
    assert cells[1].startswith(f"{median:.3g} [")  # Wh per 1,000 tokens, median [CI]
    assert cells[3].startswith(f"{median * 250 / 1000:.3g} [")  # gCO2e at 250 g/kWh
    assert "Grid carbon intensity: 250 gCO2e/kWh." in section
    assert f"<li>sim: energy not measured: {SIMULATED}</li>" in section
    # 40 W against 60 W for the same durations: a real change, found significant.
    change = re.search(r"<td>local</td><td>cool → hot</td>.*?</tr>", section)
    assert change is not None and "(significant)" in change.group(0)
    # Energy against latency: each probe's duration and Wh per 1,000 tokens.
    scatter = figures(text)["sustainability-energy-latency"]
    hot_trace = next(t for t in scatter["data"] if t["name"] == "hot · local")  # type: ignore[attr-defined]
    assert hot_trace["x"] == pytest.approx(list(hot["durations"]))
    assert hot_trace["y"] == pytest.approx(list(wh_per_1k(hot["joules"])))
    assert (out / "png" / "energy-latency.png").read_bytes()[:4] == b"\x89PNG"
    page = open_page(out / "report.html", tmp_path / "shot.png")
    assert page.console == []
    drawn = drawn_charts(page)
    assert drawn["sustainability-energy-latency"] > 0 and min(drawn.values()) > 0, drawn


def test_without_an_intensity_there_are_no_grams(
    sessions: tuple[Path, dict[str, np.ndarray]], tmp_path: Path
) -> None:
    root, _ = sessions
    result = spc("session", "report", str(root / "hot"), "--out", str(tmp_path / "r"))
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "r" / "report.html").read_text()
    assert "No grid carbon intensity given" in text
    assert re.search(r"<tr><td>hot</td><td>local</td>(<td>[^<]*</td>){4}<td>-</td></tr>", text)


def test_a_bad_energy_cell_is_one_line(sessions: tuple[Path, dict[str, np.ndarray]]) -> None:
    root, _ = sessions
    probes = root / "hot" / "probes.csv"
    saved = probes.read_text()
    try:
        lines = saved.splitlines()
        lines[1] = lines[1].rsplit(",", 2)[0] + ",lots,"
        probes.write_text("\n".join(lines) + "\n")
        result = spc("session", "summarize", str(root / "hot"))
    finally:
        probes.write_text(saved)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"llmscope-spc session summarize: {probes}:2: energy, output_tokens and "
        "duration_seconds must be numbers"
    )


def test_compare_prints_the_change_of_energy_per_token(
    sessions: tuple[Path, dict[str, np.ndarray]],
) -> None:
    root, _ = sessions
    result = spc("session", "compare", str(root / "cool"), str(root / "hot"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    at = lines.index("energy per 1,000 output tokens (* significant, Mann-Whitney U):")
    (local,) = [line for line in lines[at:] if line.startswith("local ")]
    assert "cool -> hot" in local and local.endswith(" *")
    assert not any(line.startswith("sim ") for line in lines[at:])
