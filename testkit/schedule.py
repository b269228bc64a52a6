"""The order in which the test command hands tests to its pytest-xdist workers.

The run lasts as long as its busiest worker. A test of several minutes handed out late runs
alone at the end while the other workers wait, so the long tests go first, the longest
first, and the many short ones fill the gaps behind them. Tests that share a module-scoped
fixture (a replayed fleet, a report built once) stay together on one worker, so it is made
once per run rather than once per worker.

``scripts/test`` runs ``--dist loadgroup --no-loadscope-reorder``: every test, or group, is a
unit handed to the next free worker in the order given here.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# Seconds each long test (every parameter of it) took in a loaded run of the whole command
# (--durations); only their order matters. A test marked slow and missing here counts
# DEFAULT_SLOW; every other test counts nothing and keeps its collection order.
LONG_TESTS: Mapping[str, float] = {
    "tests/launcher/test_main_job.py::test_the_main_job_shows_spc_working_and_stops_clean": 150,
    "tests/launcher/test_main_job.py::test_a_first_run_raises_no_limits_unavailable_while_"
    "the_p_chart_warms_up": 135,
    "tests/backtest/test_scenarios.py::test_in_control_request_series_page_nothing": 283,
    "tests/backtest/test_scenarios.py::test_an_hourly_router_with_a_dns_outage_at_the_probe_"
    "host_pages_its_vantage": 137,
    # One fixture replays the fleet (48 s) for these six: one group on one worker.
    "tests/backtest/test_scenarios.py::test_each_incident_of_a_two_vantage_fleet_pages_once_"
    "with_its_scope": 10,
    "tests/backtest/test_scenarios.py::test_a_two_vantage_fleet_pages_nothing_but_its_incidents": 1,
    "tests/backtest/test_skipping.py::test_skipping_quiet_cycles_finds_what_running_every_"
    "cycle_finds": 110,
    "tests/sidecar/test_judging.py::test_many_cycles_flag_each_point_once_at_the_single_"
    "judgement_rate": 97,
    "tests/sidecar/test_presets_estate.py::test_presets_chart_the_estate_and_page_only_the_"
    "slowed_model": 93,
    "tests/sidecar/test_incremental.py::test_cycles_with_the_cache_publish_what_whole_"
    "fetches_publish": 75,
    "tests/research/test_report_of_benches.py::test_a_report_of_two_benches_has_the_energy_"
    "section_and_the_ecdfs": 70,
    "tests/e2e/test_shift_to_notification.py::test_mean_shift_pages_from_the_calibrated_"
    "detector": 67,
    "tests/sidecar/test_cadence.py::test_5_minute_points_page_a_3x_step_within_4_points": 60,
    "tests/research/test_report_energy.py::test_the_section_shows_energy_grams_the_change_"
    "and_what_was_not_measured": 43,
    "tests/sidecar/test_cadence.py::test_hourly_points_over_3_days_page_a_3x_step_within_3_"
    "points": 42,
    "tests/rules/test_ticket_after_page.py::test_the_incidents_ticket_never_follows_its_"
    "resolved_page": 37,
    "tests/backtest/test_live_equality.py::test_the_live_sidecar_and_the_backtest_page_the_"
    "same_episodes": 35,
    "tests/sidecar/test_floor.py::test_a_steady_series_pages_a_1_5x_step_but_not_1_1x_nor_"
    "1_25x": 32,
    "tests/sidecar/test_incremental_live.py::test_cached_cycles_on_live_scrapes_query_only_"
    "the_news_and_publish_what_whole_ones_do": 28,
    "tests/research/test_compare.py::test_an_absent_or_empty_session_folder_is_one_line": 27,
    "tests/research/test_compare.py::test_an_unreadable_session_file_is_one_line": 25,
    "tests/stack/test_dashboard_live.py::test_every_panel_query_returns_data_from_the_live_"
    "stack": 25,
    "tests/research/test_compare.py::test_an_unknown_target_is_one_line": 24,
    "tests/sidecar/test_cli.py::test_sidecar_serves_stale_results_while_prometheus_is_down_"
    "then_recovers": 23,
    "tests/sidecar/test_incremental_backends.py::test_cached_cycles_on_a_real_backend_"
    "publish_what_whole_fetches_publish": 22,
    "tests/sidecar/test_cli.py::test_reload_by_http_keeps_the_old_config_on_error_and_"
    "sighup_applies_a_good_one": 20,
    "tests/research/test_report_energy.py::test_without_an_intensity_there_are_no_grams": 20,
    "tests/sidecar/test_alarms.py::test_lone_outliers_never_page": 19,
    "tests/research/test_report.py::test_the_page_loads_without_console_errors_and_every_"
    "chart_renders": 18,
    "tests/research/test_report.py::test_an_unknown_metric_is_one_line": 17,
    "tests/sidecar/test_alarms_prometheus.py::test_the_running_sidecar_pages_the_shifted_"
    "series_of_a_real_prometheus": 17,
}
DEFAULT_SLOW = 10.0


@dataclass(frozen=True)
class Planned:
    """One collected test as the schedule sees it."""

    nodeid: str  # as pytest names it: path::function[parameters]
    slow: bool  # marked @pytest.mark.slow
    shared: str | None  # the module whose module-scoped fixture it uses, if any


def weight(test: Planned) -> float:
    """How long ``test`` is expected to run, for ordering only."""
    function = test.nodeid.split("[", 1)[0]
    return LONG_TESTS.get(function, DEFAULT_SLOW if test.slow else 0.0)


def unit(test: Planned) -> str:
    """The unit a worker receives whole: the shared module's group, or the test alone."""
    return test.shared if test.shared is not None else test.nodeid


def order(tests: Sequence[Planned], workers: int = 1) -> list[int]:
    """Indices of ``tests`` in the order to hand them out: units by their summed weight,
    heaviest first, each followed by a short unit; short units keep their collection order.

    pytest-xdist (loadgroup) gives each worker its running unit and the next one, which waits
    behind it: the first ``workers`` units start at once and the next ``workers`` wait behind
    them, and later each unit handed out waits behind the one the worker just started. A short
    unit in each waiting place keeps one long test from waiting behind another.
    """
    members: dict[str, list[int]] = {}
    for index, test in enumerate(tests):
        members.setdefault(unit(test), []).append(index)
    total = {key: sum(weight(tests[i]) for i in indices) for key, indices in members.items()}
    heavy = sorted((k for k in members if total[k] > 0), key=lambda k: -total[k])  # stable
    light = iter([k for k in members if total[k] == 0])
    sequence = heavy[:workers] + list(itertools.islice(light, workers))
    for key in heavy[workers:]:
        sequence += [key, *itertools.islice(light, 1)]
    sequence += light
    return [index for key in sequence for index in members[key]]
