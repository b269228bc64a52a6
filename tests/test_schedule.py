"""The test command's schedule (testkit/schedule.py): long tests go to the workers first,
tests sharing a module fixture go together, and the table of long tests names real tests."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from testkit.schedule import DEFAULT_SLOW, LONG_TESTS, Planned, order, weight
from tests.conftest import _shared

ROOT = Path(__file__).resolve().parent.parent
MAIN_JOB = "tests/launcher/test_main_job.py::test_the_main_job_shows_spc_working_and_stops_clean"
FLEET = "tests/backtest/test_scenarios.py"


def test_long_tests_start_first_the_longest_first_and_short_ones_keep_their_order() -> None:
    tests = [
        Planned("tests/a.py::test_quick", False, None),
        Planned("tests/b.py::test_marked_slow", True, None),
        Planned("tests/c.py::test_quick_too", False, None),
        Planned(MAIN_JOB, True, None),
    ]
    assert [tests[i].nodeid for i in order(tests, workers=2)] == [
        MAIN_JOB,
        "tests/b.py::test_marked_slow",
        "tests/a.py::test_quick",
        "tests/c.py::test_quick_too",
    ]


def test_a_short_test_takes_each_place_that_waits_behind_a_long_one() -> None:
    """Two workers: the first two units start at once, the next two wait behind them; from
    then on each unit handed out waits behind the one its worker starts."""
    slow = [Planned(f"tests/s.py::test_slow_{i}", True, None) for i in range(4)]
    quick = [Planned(f"tests/q.py::test_quick_{i}", False, None) for i in range(5)]
    tests = quick[:2] + slow + quick[2:]
    names = [tests[i].nodeid.split("::test_")[1] for i in order(tests, workers=2)]
    assert names == [
        "slow_0",
        "slow_1",  # running
        "quick_0",
        "quick_1",  # waiting behind them
        "slow_2",
        "quick_2",
        "slow_3",
        "quick_3",
        "quick_4",
    ]


def test_every_parameter_of_a_long_test_weighs_what_the_test_does() -> None:
    assert weight(Planned(f"{FLEET}::test_in_control_request_series_page_nothing", True, None)) > 0
    incremental = "tests/sidecar/test_incremental.py::test_cycles_with_the_cache_publish_what_"
    assert weight(Planned(incremental + "whole_fetches_publish[prometheus-2]", False, None)) > 0
    assert weight(Planned("tests/b.py::test_x[1]", True, None)) == DEFAULT_SLOW
    assert weight(Planned("tests/b.py::test_x[1]", False, None)) == 0


def test_a_group_sharing_a_module_fixture_weighs_the_sum_of_its_tests() -> None:
    """Three slow tests on one fixture outweigh one slow test alone: the group goes first,
    whole, in its own order."""
    tests = [
        Planned("tests/a.py::test_alone", True, None),
        Planned("tests/g.py::test_one", True, "tests/g.py"),
        Planned("tests/z.py::test_quick", False, None),
        Planned("tests/g.py::test_two", True, "tests/g.py"),
        Planned("tests/g.py::test_three", False, "tests/g.py"),
    ]
    assert [tests[i].nodeid for i in order(tests, workers=1)] == [
        "tests/g.py::test_one",
        "tests/g.py::test_two",
        "tests/g.py::test_three",
        "tests/z.py::test_quick",  # one worker: the short test waits behind the group
        "tests/a.py::test_alone",
    ]


@pytest.fixture(scope="module")
def made_once() -> int:
    return 1


def test_a_test_on_a_module_fixture_is_grouped_by_its_module(
    request: pytest.FixtureRequest, made_once: int
) -> None:
    assert made_once == 1
    assert _shared(request.node) == "tests/test_schedule.py"


def test_a_test_on_function_fixtures_only_is_not_grouped(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    assert tmp_path.is_dir()
    assert _shared(request.node) is None


def test_each_long_test_named_in_the_table_exists() -> None:
    """A renamed or removed test would silently lose its place at the front."""
    missing = []
    for nodeid in LONG_TESTS:
        path, function = nodeid.split("::")
        tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
        names = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        if function not in names:
            missing.append(nodeid)
    assert missing == []


SHARING = """
import os
import pytest

@pytest.fixture(scope="module")
def made():
    with open(os.environ["SETUPS"], "a") as log:
        log.write("made\\n")

@pytest.mark.parametrize("i", range(6))
def test_shares(made, i):
    pass

def test_alone():
    pass
"""


def test_tests_sharing_a_module_fixture_run_on_one_worker_that_makes_it_once(
    tmp_path: Path,
) -> None:
    """Through the real pytest-xdist, with the test command's flags: spread over the workers,
    each worker would make the fixture again."""
    (tmp_path / "conftest.py").write_text("from tests.conftest import *  # noqa: F403\n")
    (tmp_path / "test_sharing.py").write_text(SHARING)
    setups = tmp_path / "setups.log"
    flags = ["-n", "3", "--dist", "loadgroup", "--no-loadscope-reorder"]
    flags += ["-p", "no:cacheprovider", "-p", "no:cloudcoil"]  # as pyproject.toml's addopts
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *flags, "-q", "--rootdir", str(tmp_path), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT), "SETUPS": str(setups)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "7 passed" in result.stdout
    assert setups.read_text().splitlines() == ["made"]
