"""Incidents across cycles: settle before the page, grow in place, resolve once."""

from __future__ import annotations

from spc_rules.sidecar.incidents.board import IncidentBoard
from spc_rules.sidecar.incidents.scope import decide
from tests.incidents.test_scope import FLEET, move


def test_an_incident_settles_for_two_points_then_opens_once() -> None:
    board = IncidentBoard("page", settle_points=2, settle_max=60.0)
    board.update(100.0, decide([move("a-m1")], FLEET))
    assert board.open() == [] and board.published() == []
    board.update(115.0, decide([move("a-m1")], FLEET))
    assert board.open() == []
    board.update(130.0, decide([move("a-m1")], FLEET))
    (incident,) = board.open()
    assert (incident.key, incident.opened, incident.started) == ("target:a-m1", 130.0, 100.0)
    assert board.opened == {"target": 1}


def test_the_scope_may_change_while_settling() -> None:
    board = IncidentBoard("page", settle_points=2)
    board.update(100.0, decide([move("b-m1")], FLEET))
    board.update(130.0, decide([move("b-m1"), move("b-m2"), move("b-m3")], FLEET))
    (incident,) = board.open()
    assert incident.key == "endpoint:https://b.example:443"
    assert len(incident.probes) == 3


def test_an_open_incident_grows_in_place_without_a_second_page() -> None:
    board = IncidentBoard("page", settle_points=0)
    board.update(100.0, decide([move("b-m1"), move("b-m2")], FLEET))
    (incident,) = board.open()
    board.update(115.0, decide([move("b-m1"), move("b-m2"), move("b-m3")], FLEET))
    # Wider still: the vantage's other endpoints join the same incident.
    board.update(130.0, decide([move(i.target) for i in FLEET], FLEET))
    assert board.open() == [incident]
    assert incident.key == "endpoint:https://b.example:443"
    assert len(incident.probes) == 9 and incident.evidence.startswith("vantage eu:")
    assert board.opened == {"endpoint": 1}


def test_it_resolves_once_after_two_calm_points() -> None:
    board = IncidentBoard("page", settle_points=0)
    board.update(100.0, decide([move("a-m1")], FLEET))
    board.update(115.0, decide([move("a-m1", alarmed=False, pressure=0.3)], FLEET))
    (incident,) = board.open()  # one calm point (15 s) is not yet two
    # A late alarm of the same probe within the hold joins it: no second page.
    board.update(120.0, decide([move("a-m1", "probe_errors")], FLEET))
    board.update(135.0, [])
    assert board.open() == [incident] and board.opened == {"target": 1}
    board.update(150.0, [])
    assert (incident.is_open, incident.resolved) == (False, 150.0)
    board.update(165.0, [])
    assert board.published() == [incident] and incident.resolved == 150.0
    board.update(150.0 + 3601.0, [])
    assert board.published() == []


def test_a_blip_that_ends_while_settling_never_pages() -> None:
    board = IncidentBoard("page", settle_points=2)
    board.update(100.0, decide([move("a-m1")], FLEET))
    board.update(115.0, [])
    board.update(130.0, [])
    assert board.published() == [] and board.opened == {}
    assert board.incidents == []  # it leaves no trace


def test_the_evidence_keeps_the_widest_picture_while_members_recover() -> None:
    board = IncidentBoard("page", settle_points=0)
    board.update(100.0, decide([move("b-m1"), move("b-m2"), move("b-m3")], FLEET))
    (incident,) = board.open()
    wide = incident.evidence
    board.update(115.0, decide([move("b-m1", ratio=1.4)], FLEET))  # the others recovered
    assert incident.is_open and incident.evidence == wide
    assert wide.startswith("endpoint https://b.example:443: 3 of 3 targets")


def test_the_evidence_shows_the_strongest_move_not_the_last() -> None:
    # A page read at its resolution must say how far the series moved, not that its last
    # point was back near normal.
    board = IncidentBoard("page", settle_points=0)
    board.update(100.0, decide([move("a-m1", ratio=1.8)], FLEET))
    (incident,) = board.open()
    board.update(115.0, decide([move("a-m1", ratio=2.6)], FLEET))
    board.update(130.0, decide([move("a-m1", ratio=1.0)], FLEET))
    assert incident.is_open and "2.6x" in incident.evidence and "1.0x" not in incident.evidence
