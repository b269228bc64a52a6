"""How the test command's xdist workers share the tests: long tests first, tests that share
a module-scoped fixture on one worker (testkit/schedule.py says why)."""

from __future__ import annotations

import pytest
from _pytest.nodeid import NodeId

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


def _join(item: pytest.Item, group: str) -> None:
    """Put ``item`` in xdist's loadgroup ``group``: its node id gets the ``@group`` suffix
    that --dist loadgroup groups by. pytest-xdist 3.8 appends it for an xdist_group mark by
    setting the old string id, which pytest 9.2's structured ids ignore (pytest-xdist#1386:
    the tests spread over the workers and each made the module's fixture), so it is set here."""
    item._id = NodeId.parse(f"{item.nodeid}@{group}")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not hasattr(config, "workerinput"):
        return  # a run without workers keeps the files' order
    planned = [
        Planned(item.nodeid, item.get_closest_marker("slow") is not None, _shared(item))
        for item in items
    ]
    for item, plan in zip(items, planned, strict=True):
        if plan.shared is not None:
            _join(item, plan.shared)
    items[:] = [items[i] for i in order(planned, workers=config.workerinput["workercount"])]
