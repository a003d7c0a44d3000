"""Optimal batch assignment: the flow's optimum against brute force, bounds, gain over greedy,
and ``leadrelay route --optimize`` end to end on SQLite."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.cli.cli_support import dump, load_org, ok, read_out, run, words, write_csv

from leadrelay.analytics.optimize import (
    UNASSIGNED,
    Edges,
    fair_bounds,
    fair_shares,
    greedy,
    plan_value,
    solve,
    top_k,
)

Options = list[list[tuple[int, float]]]


def _brute(
    options: Options, capacity: list[int], floor: list[int] | None = None
) -> tuple[int, float] | None:
    """Most leads assigned, then most value, over every assignment (None: floors unmeetable)."""
    best: tuple[int, float] | None = None
    choices = [[None, *pairs] for pairs in options]
    for pick in itertools.product(*choices):
        given = [0] * len(capacity)
        for pair in pick:
            if pair is not None:
                given[pair[0]] += 1
        if any(g > c for g, c in zip(given, capacity, strict=True)):
            continue
        if floor is not None and any(g < f for g, f in zip(given, floor, strict=True)):
            continue
        score = (sum(p is not None for p in pick), sum(p[1] for p in pick if p is not None))
        if best is None or score > best:
            best = score
    return best


@st.composite
def instances(draw: st.DrawFn) -> tuple[Options, list[int]]:
    n_reps = draw(st.integers(1, 4))
    n_leads = draw(st.integers(0, 6))
    options = []
    for _ in range(n_leads):
        reps = draw(st.lists(st.integers(0, n_reps - 1), unique=True, max_size=n_reps))
        options.append([(r, float(draw(st.integers(0, 100)))) for r in reps])
    capacity = draw(st.lists(st.integers(0, 3), min_size=n_reps, max_size=n_reps))
    return options, capacity


def _counts(owner: np.ndarray, n_reps: int) -> list[int]:
    return np.bincount(owner[owner != UNASSIGNED], minlength=n_reps).tolist()


def _valid(options: Options, owner: np.ndarray) -> bool:
    return all(
        o == UNASSIGNED or any(r == o for r, _ in pairs)
        for pairs, o in zip(options, owner.tolist(), strict=True)
    )


@settings(max_examples=150, deadline=None)
@given(instances())
def test_the_flow_matches_brute_force_and_keeps_every_cap(case: tuple[Options, list[int]]) -> None:
    options, capacity = case
    edges = Edges.from_options(options)
    plan = solve(edges, len(options), np.asarray(capacity, dtype=np.int64))
    expected = _brute(options, capacity)
    assert expected is not None
    assert plan.assigned == expected[0]
    assert plan.value == pytest.approx(expected[1], abs=1e-3)
    assert plan.value == pytest.approx(plan_value(edges, plan.owner))
    assert _valid(options, plan.owner)
    assert all(g <= c for g, c in zip(_counts(plan.owner, len(capacity)), capacity, strict=True))
    # greedy is never better, and keeps the caps too
    rival = greedy(edges, len(options), np.asarray(capacity, dtype=np.int64))
    assert rival.value <= plan.value + 1e-6 or rival.assigned < plan.assigned
    assert all(g <= c for g, c in zip(_counts(rival.owner, len(capacity)), capacity, strict=True))


@settings(max_examples=150, deadline=None)
@given(instances(), st.sampled_from([0.0, 0.2, 0.5]))
def test_fairness_bounds_hold_and_floors_are_met_when_they_can_be(
    case: tuple[Options, list[int]], fairness: float
) -> None:
    options, capacity = case
    edges = Edges.from_options(options)
    weights = np.ones(len(capacity))
    ceiling, floor = fair_bounds(edges, np.asarray(capacity, dtype=np.int64), weights, fairness)
    plan = solve(edges, len(options), ceiling, floor)
    given_ = _counts(plan.owner, len(capacity))
    assert all(g <= c for g, c in zip(given_, ceiling.tolist(), strict=True))
    assert _valid(options, plan.owner)
    with_floors = _brute(options, ceiling.tolist(), floor.tolist())
    if with_floors is None:
        assert not plan.floors_met
        assert (plan.assigned, pytest.approx(plan.value, abs=1e-3)) == _brute(
            options, ceiling.tolist()
        )
    else:
        assert plan.floors_met
        assert all(g >= f for g, f in zip(given_, floor.tolist(), strict=True))
        assert (plan.assigned, pytest.approx(plan.value, abs=1e-3)) == with_floors


def test_greedy_loses_where_the_first_lead_takes_the_rep_the_second_needs() -> None:
    # lead 0 can go to rep 0 (10) or rep 1 (9); lead 1 only to rep 0 (8); one lead each.
    edges = Edges.from_options([[(0, 10.0), (1, 9.0)], [(0, 8.0)]])
    capacity = np.asarray([1, 1], dtype=np.int64)
    rival = greedy(edges, 2, capacity)
    plan = solve(edges, 2, capacity)
    assert (rival.owner.tolist(), rival.value) == ([0, UNASSIGNED], 10.0)
    assert (plan.owner.tolist(), plan.value) == ([1, 0], 17.0)


def test_a_lead_is_never_dropped_for_value() -> None:
    # one big lead alone on rep 0 would be worth more than two small ones, but both must go
    edges = Edges.from_options([[(0, 100.0)], [(0, 1.0), (1, 0.0)]])
    plan = solve(edges, 2, np.asarray([1, 1], dtype=np.int64))
    assert plan.owner.tolist() == [0, 1] and plan.assigned == 2


def test_ties_of_value_keep_the_preferred_rep() -> None:
    edges = Edges.from_options([[(0, 5.0), (1, 5.0), (2, 5.0)]] * 3)
    prefer = np.asarray([2, 0, 1], dtype=np.int32)
    plan = solve(edges, 3, np.asarray([1, 1, 1], dtype=np.int64), prefer=prefer)
    assert plan.owner.tolist() == [2, 0, 1]


def test_top_k_keeps_each_leads_best_edges_first_listed_on_ties() -> None:
    edges = Edges.from_options([[(0, 1.0), (1, 3.0), (2, 3.0), (3, 2.0)], [(3, 7.0)]])
    kept = top_k(edges, 2)
    assert list(zip(kept.lead.tolist(), kept.rep.tolist(), strict=True)) == [
        (0, 1), (0, 2), (1, 3),
    ]  # fmt: skip


def test_fair_shares_split_each_lead_by_weight_among_its_candidates() -> None:
    edges = Edges.from_options([[(0, 1.0), (1, 1.0)], [(0, 1.0), (1, 1.0)], [(1, 1.0)]])
    shares = fair_shares(edges, 2, np.asarray([1.0, 3.0]))
    assert shares.tolist() == pytest.approx([0.5, 2.5])
    ceiling, floor = fair_bounds(edges, np.asarray([9, 2], dtype=np.int64), np.ones(2), 0.5)
    # equal weights: shares 1 and 2 -> ceilings ceil(1.5)=2, ceil(3)=3 capped at 2; floors 0, 1
    assert ceiling.tolist() == [2, 2] and floor.tolist() == [0, 1]


def test_bad_edges_are_refused() -> None:
    with pytest.raises(ValueError, match="rep outside"):
        solve(Edges.from_options([[(3, 1.0)]]), 1, np.asarray([1], dtype=np.int64))
    with pytest.raises(ValueError, match="not negative"):
        greedy(Edges.from_options([[(0, -1.0)]]), 1, np.asarray([1], dtype=np.int64))


# --- the CLI, end to end on SQLite -------------------------------------------------------

REPS_HEADER = [
    "id", "name", "email", "teams", "role", "timezone", "working_hours", "out_of_office",
    "weight", "max_per_day", "max_per_week", "max_per_month", "skills", "regions", "seniority",
    "office_lat", "office_lon", "active",
]  # fmt: skip
LEADS_HEADER = ["external_id", "email", "company", "industry", "value", "received_at"]
POLICY = """\
version: 1
routes:
  - {name: sales, to: {team: sales}, strategy: round_robin}
"""


def _rep(rep_id: str, per_day: str) -> list[str]:
    return [rep_id, rep_id.title(), f"{rep_id}@example.com", "sales", "rep", "UTC", "", "",
            "", per_day, "", "", "", "", "", "", "", "true"]  # fmt: skip


@pytest.fixture
def history_db(sqlite_url: str, tmp_path: Path) -> tuple[str, Path]:
    """ana won all her 10 airline leads, bo lost all his: ana 75%, bo 25% after shrinkage."""
    reps = write_csv(tmp_path / "reps.csv", [REPS_HEADER, _rep("ana", "1"), _rep("bo", "1")])
    teams = write_csv(tmp_path / "teams.csv", [["id", "name", "owner"], ["sales", "Sales", "ana"]])
    load_org(sqlite_url, reps, teams)
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    history = write_csv(
        tmp_path / "history.csv",
        [LEADS_HEADER]
        + [[f"H{d}", f"h{d}@x.com", "", "airline", "100", f"2026-10-{d:02d}T10:00:00+00:00"]
           for d in range(1, 21)],
    )  # fmt: skip
    routed = tmp_path / "history-out.csv"
    ok("route", history, "--policy", policy, "--out", routed, db=sqlite_url)
    outcomes = [["external_id", "kind", "at", "value"]]
    for row in read_out(routed):
        won = row["owner"] == "ana"
        outcomes.append([row["external_id"], "won" if won else "lost",
                         "2026-10-25T10:00:00+00:00", "100" if won else ""])  # fmt: skip
    ok("load", "outcomes", write_csv(tmp_path / "outcomes.csv", outcomes), db=sqlite_url)
    return sqlite_url, policy


def _batch(tmp_path: Path) -> Path:
    # the small lead arrives first: greedy gives it ana (the better rep), the big one gets bo
    return write_csv(
        tmp_path / "batch.csv",
        [LEADS_HEADER,
         ["S1", "s1@x.com", "", "airline", "10", "2026-11-02T09:00:00+00:00"],
         ["B1", "b1@x.com", "", "airline", "1000", "2026-11-02T09:05:00+00:00"]],
    )  # fmt: skip


def test_route_optimize_stores_the_optimal_owners_with_their_reasons(
    history_db: tuple[str, Path], tmp_path: Path
) -> None:
    db, policy = history_db
    out = tmp_path / "out.csv"
    result = ok("route", _batch(tmp_path), "--policy", policy, "--optimize", "--out", out, db=db)
    rows = {row["external_id"]: row for row in read_out(out)}
    assert (rows["B1"]["owner"], rows["S1"]["owner"]) == ("ana", "bo")
    assert {rows[k]["strategy"] for k in rows} == {"optimal_batch"}
    assert rows["B1"]["reason"].startswith("optimal batch assignment: expected value 750.00")
    assert "rank 1 of 2 candidates" in rows["B1"]["reason"]
    text = words(result.stdout)
    # optimal 750 + 2.5; greedy 7.5 + 250
    assert "│ optimal │ 752.50 │" in text and "│ greedy │ 257.50 │ 495.00 (+192.2%) │" in text
    # the stored decision explains itself: every candidate with its expected value
    explained = words(ok("explain", rows["B1"]["lead_id"], db=db).stdout)
    assert "ana: chosen by the batch optimiser: expected value 750.00" in explained
    assert "bo: not eligible, at daily cap (1/1)" in explained  # S1 went first
    explained = words(ok("explain", rows["S1"]["lead_id"], db=db).stdout)
    assert "rank 2 of 2 candidates" in explained
    assert "bo: chosen by the batch optimiser: expected value 2.50" in explained
    assert "ana: expected value 7.50" in explained
    # one lead a day each: the caps held
    assert sorted(row["owner"] for row in rows.values()) == ["ana", "bo"]


def test_route_optimize_dry_run_writes_nothing(
    history_db: tuple[str, Path], tmp_path: Path
) -> None:
    db, policy = history_db
    before = dump(db)
    out = tmp_path / "out.csv"
    ok("route", _batch(tmp_path), "--policy", policy, "--optimize", "--dry-run", "--out", out,
       db=db)  # fmt: skip
    assert dump(db) == before
    assert {row["external_id"]: row["owner"] for row in read_out(out)} == {"S1": "bo", "B1": "ana"}


def test_route_optimize_refuses_bad_options_and_leaves_the_database(
    history_db: tuple[str, Path], tmp_path: Path
) -> None:
    db, policy = history_db
    before = dump(db)
    leads = _batch(tmp_path)
    bad = run("route", leads, "--policy", policy, "--optimize", "--fairness", "1.5", db=db)
    assert bad.exit_code == 2 and "--fairness" in bad.stderr and "between 0 and 1" in bad.stderr
    bad = run("route", leads, "--policy", policy, "--fairness", "0.2", db=db)
    assert bad.exit_code == 2 and "--fairness needs --optimize" in bad.stderr
    bad = run("route", leads, "--policy", policy, "--optimize", "--segment", "colour", db=db)
    assert bad.exit_code == 2 and "--segment" in bad.stderr
    assert dump(db) == before
