"""Simulation on history: the history reader, the replay through decide, the CRM case."""

from __future__ import annotations

import csv
import json
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.builders import NOON
from tests.cli.cli_support import dump, load_org, plain, run, write_csv

from leadrelay.analytics.simulate import org_from_parts, simulate
from leadrelay.demo_org import build_crm_case
from leadrelay.domain import Lead, Rep
from leadrelay.errors import InputFileError
from leadrelay.files.history import HISTORY_COLUMNS, HistoryRow, read_history
from leadrelay.files.leads import LEAD_COLUMNS
from leadrelay.policy import load_policy_text
from leadrelay.store.org import Org

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HEADER = [*LEAD_COLUMNS, *HISTORY_COLUMNS]

BY_INDUSTRY = """\
version: 1
capacity:
  default: {per_day: 2}
routes:
  - {name: airlines, when: 'industry == "airline"', to: {rep: ana}, strategy: criteria}
  - {name: rest, to: {rep: bo}, strategy: criteria}
"""


def _history(path: Path, rows: list[dict[str, str]]) -> Path:
    return write_csv(path, [HEADER, *([row.get(c, "") for c in HEADER] for row in rows)])


def _at(hours: float) -> str:
    return (NOON + timedelta(hours=hours)).isoformat()


def _org() -> Org:
    return org_from_parts([Rep("ana"), Rep("bo")])


def test_history_reader_names_every_bad_row_and_field(tmp_path: Path) -> None:
    path = _history(
        tmp_path / "h.csv",
        [
            {"external_id": "1", "received_at": _at(0), "outcome": "maybe"},
            {"external_id": "2", "received_at": _at(0), "outcome": "lost", "won_value": "10"},
            {"external_id": "3", "received_at": _at(5), "outcome": "won", "closed_at": _at(1)},
            {"external_id": "4", "outcome": "lost"},
            {"external_id": "5", "received_at": _at(0), "closed_at": "yesterday"},
        ],
    )
    with pytest.raises(InputFileError) as caught:
        read_history(path)
    found = {(p.row, p.field) for p in caught.value.problems}
    assert found == {
        (2, "outcome"), (3, "won_value"), (4, "closed_at"), (5, "received_at"), (6, "closed_at"),
    }  # fmt: skip


def test_history_reader_keeps_custom_columns_but_not_the_history_ones(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "h.csv",
        [["external_id", "received_at", "owner", "outcome", "won_value", "closed_at", "campaign"],
         ["A", _at(0), "ana", "won", "1,200", _at(30), "fall"]],
    )  # fmt: skip
    [row] = read_history(path)
    assert (row.owner, row.outcome, row.won_value) == ("ana", "won", 1200.0)
    assert row.closed_at is not None and row.closed_at > row.lead.received_at
    assert dict(row.lead.attributes) == {"campaign": "fall"}


def test_replay_counts_outcomes_only_where_the_simulated_owner_is_the_historical_one(
    tmp_path: Path,
) -> None:
    # the policy sends airlines to ana and the rest to bo; history had other ideas twice
    rows = [
        {"external_id": "1", "industry": "airline", "owner": "ana", "outcome": "won",
         "won_value": "100"},  # matched, won
        {"external_id": "2", "industry": "airline", "owner": "bo", "outcome": "won",
         "won_value": "900"},  # not matched
        {"external_id": "3", "industry": "bank", "owner": "bo", "outcome": "lost"},  # matched
        {"external_id": "4", "industry": "bank", "owner": "ana", "outcome": "lost"},  # not
        {"external_id": "5", "industry": "bank", "owner": "bo"},  # matched, still open
    ]  # fmt: skip
    for i, row in enumerate(rows):
        row["received_at"] = _at(24 * i)  # one a day: no cap is reached
    history = read_history(_history(tmp_path / "h.csv", rows))
    org = _org()
    policy = load_policy_text(BY_INDUSTRY, reps={"ana", "bo"})

    result = simulate(history, policy, org)

    e = result.estimate
    assert (e.closed, e.matched, e.agreed) == (4, 2, 3)
    assert e.win_rate.successes == 1 and e.win_rate.trials == 2
    assert e.value_per_lead.mean == pytest.approx(50.0)  # 100 won + 0 lost over 2
    assert e.historical_win_rate.rate == pytest.approx(2 / 4)
    assert e.historical_value_per_lead.mean == pytest.approx(1000 / 4)
    by_rep = {r.rep: r for r in result.reps}
    assert (by_rep["ana"].leads, by_rep["ana"].historical) == (2, 2)
    assert (by_rep["bo"].leads, by_rep["bo"].historical) == (3, 3)


def test_replay_honours_caps_and_says_why_leads_were_not_placed(tmp_path: Path) -> None:
    rows = [{"external_id": str(i), "industry": "airline", "received_at": _at(i / 10)}
            for i in range(5)]  # fmt: skip
    rows.append({"external_id": "next-day", "industry": "airline", "received_at": _at(24)})
    history = read_history(_history(tmp_path / "h.csv", rows))
    org = _org()
    policy = load_policy_text(BY_INDUSTRY, reps={"ana", "bo"})

    result = simulate(history, policy, org)

    by_rep = {r.rep: r for r in result.reps}
    ana, bo = by_rep["ana"], by_rep["bo"]
    # five airline leads in one day: ana takes 2 (her cap), the rest route spills 2 to bo
    # (his cap), the fifth waits for a manager; the next day ana is free again
    assert (ana.leads, ana.max_per_day, ana.cap_per_day, ana.days_at_cap) == (3, 2, 2, 1)
    assert (bo.leads, bo.max_per_day, bo.days_at_cap) == (2, 2, 1)
    assert result.statuses == {"assigned": 5, "manual": 1}
    [(why, count)] = result.not_placed.items()
    assert count == 1 and why.startswith("manual")
    # the 2nd lead of the day takes each rep to the cap of 2: at risk
    assert result.sla_risk == {"off_hours": 0, "near_cap": 2}


def test_replay_releases_a_closed_lead_from_its_simulated_owner(tmp_path: Path) -> None:
    policy_text = """\
version: 1
routes:
  - {name: all, to: {reps: [ana, bo]}, strategy: least_loaded}
"""
    policy = load_policy_text(policy_text, reps={"ana", "bo"})
    org = _org()

    def owners(closes_first: bool) -> list[str | None]:
        # four leads spread over both reps; then the 1st and 3rd close (or not) before two more
        closing = _at(4 if closes_first else 99)
        rows = [
            {"external_id": "a1", "received_at": _at(0), "outcome": "lost", "closed_at": closing},
            {"external_id": "a2", "received_at": _at(1)},
            {"external_id": "a3", "received_at": _at(2), "outcome": "won", "closed_at": closing},
            {"external_id": "a4", "received_at": _at(3)},
            {"external_id": "c1", "received_at": _at(5)},
            {"external_id": "c2", "received_at": _at(6)},
        ]
        history = read_history(_history(tmp_path / f"h{closes_first}.csv", rows))
        return [d.owner for d in simulate(history, policy, org).decisions]

    still_open = owners(closes_first=False)
    released = owners(closes_first=True)
    assert still_open[:4] == released[:4]
    assert released[0] == released[2] != released[1] == released[3]
    # released, the rep whose two leads closed has none open: both new leads go to them
    assert released[4] == released[5] == released[0]
    # still open, both reps hold two: the new leads are shared
    assert still_open[4] != still_open[5]


def test_replay_is_deterministic(tmp_path: Path) -> None:
    rows = [{"external_id": f"L{i}", "industry": ["airline", "bank"][i % 2],
             "received_at": _at(i * 5), "owner": ["ana", "bo"][i % 3 % 2],
             "outcome": ["won", "lost", ""][i % 3]} for i in range(40)]  # fmt: skip
    history = read_history(_history(tmp_path / "h.csv", rows))
    org = _org()
    policy = load_policy_text(BY_INDUSTRY, reps={"ana", "bo"})
    first = simulate(history, policy, org)
    again = simulate(list(reversed(history))[::-1], policy, org)
    assert first.as_dict() == again.as_dict()
    assert [d.to_dict() for d in first.decisions] == [d.to_dict() for d in again.decisions]


# --- the CRM case, end to end through the CLI ------------------------------------------------


@pytest.fixture(scope="module")
def crm_slice(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path, Path]:
    """The CRM case's org and the first 300 leads of its history."""
    case = build_crm_case(tmp_path_factory.mktemp("crm"))
    with case.history.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    sliced = write_csv(case.history.with_name("slice.csv"), rows[:301])
    return case.reps, case.teams, case.accounts, sliced


def test_crm_case_learns_before_the_split_and_replays_after_it(
    crm_slice: tuple[Path, Path, Path, Path],
) -> None:
    reps, _, _, history = crm_slice
    rows = read_history(history)
    assert all(r.lead.received_at.date().isoformat() >= "2017-07-01" for r in rows)
    assert {r.outcome for r in rows} <= {"won", "lost", None}
    with reps.open(encoding="utf-8") as handle:
        agents = [r for r in csv.DictReader(handle) if r["role"] == "rep"]
    assert len(agents) == 35 and all(a["regions"] in {"central", "east", "west"} for a in agents)


def test_simulate_command_on_the_crm_slice_leaves_the_database_unchanged(
    crm_slice: tuple[Path, Path, Path, Path], sqlite_url: str
) -> None:
    reps, teams, accounts, history = crm_slice
    load_org(sqlite_url, reps, teams, accounts)
    before = dump(sqlite_url)
    policy = EXAMPLES / "crm-policy.yaml"

    result = run("simulate", "--policy", policy, "--history", history, "--json", db=sqlite_url)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["leads"] == 300
    assert sum(data["statuses"].values()) == 300
    estimate = data["estimate"]
    assert 0 < estimate["matched"] <= estimate["closed"] <= 300
    assert all(r["max_per_day"] <= (r["cap_per_day"] or 10**9) for r in data["reps"])
    assert dump(sqlite_url) == before

    table = plain(
        run("simulate", "--policy", policy, "--history", history, "--reps", reps, "--teams",
            teams, "--accounts", accounts).stdout
    )  # fmt: skip
    assert "replay method" in " ".join(table.split())


def test_simulate_wants_history_or_crm_but_not_both(tmp_path: Path, sqlite_url: str) -> None:
    policy = EXAMPLES / "crm-policy.yaml"
    both = run("simulate", "--policy", policy, "--crm", "--history", tmp_path / "h.csv",
               db=sqlite_url)  # fmt: skip
    assert both.exit_code == 2 and "--history" in both.stderr
    neither = run("simulate", "--policy", policy, db=sqlite_url)
    assert neither.exit_code == 2


@given(
    st.lists(
        st.tuples(st.integers(0, 72 * 60), st.sampled_from(["airline", "bank", None]),
                  st.sampled_from(["ana", "bo", None]), st.sampled_from(["won", "lost", None])),
        max_size=40,
    )
)  # fmt: skip
@settings(max_examples=40, deadline=None)
def test_replay_never_exceeds_a_cap_and_places_every_lead_once(
    drawn: list[tuple[int, str | None, str | None, str | None]],
) -> None:
    history = [
        HistoryRow(i + 2, Lead(NOON + timedelta(minutes=m), external_id=f"P{i}", industry=ind),
                   owner, outcome, None, None)
        for i, (m, ind, owner, outcome) in enumerate(drawn)
    ]  # fmt: skip
    policy = load_policy_text(BY_INDUSTRY, reps={"ana", "bo"})
    result = simulate(history, policy, _org())
    assert sum(result.statuses.values()) == len(history) == len(result.decisions)
    assert all(r.max_per_day <= 2 for r in result.reps)
    e = result.estimate
    assert e.matched <= e.closed and e.agreed <= len(history)


def test_replay_decides_with_the_collector_paused_and_turns_it_on_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every decision of a replay is kept: the collector's passes over them are skipped."""
    import gc

    import leadrelay.analytics.simulate as simulate_module

    collector: list[bool] = []
    real_decide = simulate_module.decide

    def decide(*args: object) -> object:
        collector.append(gc.isenabled())
        return real_decide(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(simulate_module, "decide", decide)
    rows = [{"external_id": f"L{i}", "industry": "bank", "received_at": _at(i)} for i in range(3)]
    history = read_history(_history(tmp_path / "h.csv", rows))
    gc.enable()
    simulation = simulate(history, load_policy_text(BY_INDUSTRY, reps={"ana", "bo"}), _org())
    assert simulation.leads == 3
    assert collector == [False, False, False]
    assert gc.isenabled()
