"""The scope decision: which probes moved together, and whose side that points to."""

from __future__ import annotations

import math

from spc_rules.sidecar.config.model import Side
from spc_rules.sidecar.incidents.model import IDENTITY_ORDER, Identity, Movement
from spc_rules.sidecar.incidents.scope import decide

# A fleet seen from vantage "eu": endpoints a, b, c with models m1, m2, m3 each.
FLEET = [
    Identity(f"{e}-{m}", m, f"https://{e}.example:443", v)
    for v in ("eu",)
    for e in ("a", "b", "c")
    for m in ("m1", "m2", "m3")
]


def _who(target: str, vantage: str = "eu") -> Identity:
    return next(i for i in FLEET if i.target == target and i.vantage == vantage)


def move(
    target: str,
    chart: str = "duration",
    *,
    alarmed: bool = True,
    pressure: float = 1.2,
    ratio: float = 3.0,
    side: Side = "unknown",
    reasons: dict[str, int] | None = None,
    who: Identity | None = None,
) -> Movement:
    return Movement(
        chart=chart,
        series=f"target={target}",
        identity=who or _who(target),
        side=side,
        alarmed=alarmed,
        since=100.0 if alarmed else math.nan,
        pressure=pressure,
        ratio=ratio,
        interval=15.0,
        reasons=reasons or {},
    )


def test_one_target_with_several_charts_is_one_target_incident() -> None:
    groups = decide(
        [move("a-m1"), move("a-m1", "time_to_first_answer"), move("a-m1", "tokens_per_second")],
        FLEET,
    )
    assert [(g.scope, g.subject, len(g.members)) for g in groups] == [("target", "a-m1", 3)]
    assert groups[0].evidence.startswith("target a-m1: moved 3.0x (")


def test_most_targets_of_one_endpoint_are_an_endpoint_incident() -> None:
    groups = decide([move("b-m1"), move("b-m2", ratio=2.4), move("b-m3", ratio=2.6)], FLEET)
    assert [(g.scope, g.subject) for g in groups] == [("endpoint", "https://b.example:443")]
    assert "3 of 3 targets 2.6x" in groups[0].evidence


def test_a_leaning_target_widens_an_endpoint_but_never_pages_alone() -> None:
    leaning = move("b-m2", alarmed=False, pressure=0.6)
    groups = decide([move("b-m1"), leaning], FLEET)
    assert [(g.scope, g.subject) for g in groups] == [("endpoint", "https://b.example:443")]
    assert decide([leaning, move("c-m1", alarmed=False, pressure=0.9)], FLEET) == []


def test_a_calm_statistic_below_the_join_pressure_is_not_moving() -> None:
    groups = decide([move("b-m1"), move("b-m2", alarmed=False, pressure=0.2)], FLEET)
    assert [(g.scope, g.subject) for g in groups] == [("target", "b-m1")]
    # Half way to its line, but its newest point sits near the reference: noise.
    groups = decide([move("b-m1"), move("b-m2", alarmed=False, pressure=0.8, ratio=1.1)], FLEET)
    assert [(g.scope, g.subject) for g in groups] == [("target", "b-m1")]


def test_one_model_on_several_endpoints_is_a_model_incident() -> None:
    groups = decide([move("a-m2"), move("c-m2")], FLEET)
    assert [(g.scope, g.subject) for g in groups] == [("model", "m2")]
    assert "2 of 2 endpoints" in groups[0].evidence


def test_most_probes_across_endpoints_of_a_vantage_are_the_vantage() -> None:
    moved = [move("a-m1"), move("a-m2"), move("b-m3"), move("c-m2"), move("c-m3")]
    groups = decide(moved, FLEET)
    assert [(g.scope, g.subject) for g in groups] == [("vantage", "eu")]
    assert groups[0].evidence.startswith("vantage eu: 3 of 3 endpoints")
    # One target on each endpoint is a third of what the vantage probes: not our side.
    few = decide([move("a-m1"), move("b-m3"), move("c-m2")], FLEET)
    assert [g.scope for g in few] == ["target", "target", "target"]


def test_network_failures_across_endpoints_are_our_side() -> None:
    dns = {"dns": 4}
    groups = decide(
        [move("a-m1", reasons=dns, ratio=math.nan), move("b-m1", reasons=dns, ratio=math.nan)],
        FLEET + [Identity(f"d-m{i}", f"m{i}", "https://d.example:443", "eu") for i in range(4)],
    )
    assert [(g.scope, g.subject) for g in groups] == [("vantage", "eu")]
    assert "2 failing (dns 8)" in groups[0].evidence


def test_server_errors_of_one_endpoint_are_the_endpoint() -> None:
    five = {"server_error": 3}
    groups = decide([move(f"c-m{i}", reasons=five, ratio=math.nan) for i in (1, 2, 3)], FLEET)
    assert [(g.scope, g.subject) for g in groups] == [("endpoint", "https://c.example:443")]


def test_a_move_of_our_own_side_only_is_the_vantage() -> None:
    groups = decide([move("a-m1", "proxy_overhead", side="ours")], FLEET)
    assert [(g.scope, g.subject) for g in groups] == [("vantage", "eu")]
    assert "our side moved: proxy_overhead" in groups[0].evidence


def test_an_endpoint_and_a_target_elsewhere_are_two_incidents() -> None:
    groups = decide([move("a-m1"), move("c-m1"), move("c-m2"), move("c-m3")], FLEET)
    # Four probes of nine: not most of what the vantage probes.
    assert [(g.scope, g.subject) for g in groups] == [
        ("endpoint", "https://c.example:443"),
        ("target", "a-m1"),
    ]
    groups = decide([move("a-m1"), move("c-m1", alarmed=False, pressure=0.7)], FLEET)
    assert [(g.scope, g.subject) for g in groups] == [("model", "m1")]


def test_the_same_target_from_two_vantages_is_one_target_incident() -> None:
    west = Identity("a-m1", "m1", "https://a.example:443", "us")
    groups = decide([move("a-m1"), move("a-m1", who=west)], [*FLEET, west])
    assert [(g.scope, g.subject, len(g.probes)) for g in groups] == [("target", "a-m1", 2)]


def test_a_saturated_probing_host_is_our_side() -> None:
    moved = [move("a-m1"), move("b-m2")]  # two targets on two endpoints: two incidents, unless
    assert [g.scope for g in decide(moved, FLEET, {"eu": 0.5})] == ["target", "target"]
    groups = decide(moved, FLEET, {"eu": 0.97})
    assert [(g.scope, g.subject) for g in groups] == [("vantage", "eu")]
    assert groups[0].evidence.endswith("; host CPU 97%")
    # One endpoint moving alone stays the endpoint's, however busy the host: the evidence
    # says the host was busy.
    alone = decide([move("a-m1"), move("a-m2")], FLEET, {"eu": 0.97})
    assert [(g.scope, g.subject) for g in alone] == [("endpoint", "https://a.example:443")]
    assert alone[0].evidence.endswith("; host CPU 97%")


def test_dns_failures_of_one_endpoints_targets_are_still_our_side() -> None:
    # Fifteen models behind one router, and the probing host's resolver fails: ours.
    dns = {"dns": 2}
    groups = decide([move(f"a-m{i}", reasons=dns, ratio=math.nan) for i in (1, 2, 3)], FLEET)
    assert [(g.scope, g.subject) for g in groups] == [("vantage", "eu")]


def test_the_identity_key_orders_as_identities_do() -> None:
    # decide() sorts by IDENTITY_ORDER for speed; it must be Identity's own order, fields
    # added later included.
    names = ("a", "b", "")
    ids = [Identity(t, m, e, v) for t in names for m in names for e in names for v in names]
    ids.reverse()
    assert sorted(ids, key=IDENTITY_ORDER) == sorted(ids)
    assert IDENTITY_ORDER(Identity("t", "m", "e", "v")) == ("t", "m", "e", "v")
