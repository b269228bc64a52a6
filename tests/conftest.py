"""How the test command's xdist workers share the tests: long tests first, tests that share
a module-scoped fixture on one worker (testkit/schedule.py says why)."""

from __future__ import annotations

import pytest

from testkit.schedule import Planned, order

SHARED_SCOPES = ("class", "module", "package")


def _shared(item: pytest.Item) -> str | None:
    """The item's module when it uses a class-, module- or package-scoped fixture of this
    repository (plugins' fixtures have an empty baseid)."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return None
    for definitions in info.name2fixturedefs.values():
        for definition in definitions:
            if definition.scope in SHARED_SCOPES and definition.baseid:
                return item.nodeid.split("::", 1)[0]
    return None


@pytest.hookimpl(tryfirst=True)  # before xdist reads the xdist_group markers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not hasattr(config, "workerinput"):
        return  # a run without workers keeps the files' order
    planned = [
        Planned(item.nodeid, item.get_closest_marker("slow") is not None, _shared(item))
        for item in items
    ]
    for item, plan in zip(items, planned, strict=True):
        if plan.shared is not None:
            item.add_marker(pytest.mark.xdist_group(plan.shared))
    items[:] = [items[i] for i in order(planned, workers=config.workerinput["workercount"])]
