"""Failure runs read scrape by scrape from the failure chart's counters, and identities."""

from __future__ import annotations

import numpy as np

from spc_rules.sidecar.incidents.failures import failure_runs
from spc_rules.sidecar.incidents.identity import TargetInfo, identify
from spc_rules.sidecar.query.decode import RawSeries


def _counter(labels: dict[str, str], values: list[float]) -> RawSeries:
    ts = 1000.0 + 15.0 * np.arange(len(values))
    return RawSeries(labels, ts.astype(np.float64), np.asarray(values, dtype=np.float64))


def test_the_trailing_run_of_failed_probes_with_its_reasons() -> None:
    all_probes = _counter({"target": "a"}, [0, 1, 2, 3, 4, 5, 6])
    # Probes 1-3 succeed, 4-6 fail: two with 503s, then one timeout.
    server = _counter({"target": "a", "error_type": "server_error"}, [0, 0, 0, 0, 1, 2, 2])
    timeout = _counter({"target": "a", "error_type": "timeout"}, [0, 0, 0, 0, 0, 0, 1])
    runs = failure_runs([server, timeout], [all_probes], ("target",), "error_type", 3)
    run = runs[("a",)]
    assert (run.failing, run.failed, run.since) == (True, 3, 1060.0)
    assert run.reasons == {"server_error": 2, "timeout": 1}


def test_one_success_ends_the_run_and_a_reset_is_no_failure() -> None:
    all_probes = _counter({"target": "a"}, [5, 6, 7, 8, 0, 1])  # the exporter restarted
    failed = _counter({"target": "a", "error_type": "dns"}, [3, 4, 5, 5, 0, 1])
    runs = failure_runs([failed], [all_probes], ("target",), "error_type", 2)
    assert (runs[("a",)].failed, runs[("a",)].failing) == (1, False)


def test_identity_from_labels_then_target_info() -> None:
    info = TargetInfo.from_series(
        [
            {"target": "chat", "vantage": "eu", "endpoint": "https://api.x:443", "model": "m"},
            {"target": "vllm", "server_address": "10.0.0.5", "server_port": "8000"},
        ]
    )
    who = identify({"target": "chat", "vantage": "eu"}, "target=chat,vantage=eu", info)
    assert (who.endpoint, who.model, who.probe) == ("https://api.x:443", "m", ("chat", "eu"))
    assert identify({"target": "vllm"}, "target=vllm", info).endpoint == "10.0.0.5:8000"
    engine = identify({"model_name": "llama", "instance": "h:8000"}, "model_name=llama", info)
    assert (engine.target, engine.model, engine.endpoint) == ("model_name=llama", "llama", "h:8000")
