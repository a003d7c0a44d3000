"""Reps, teams and accounts: saved and loaded back whole, cached by org version."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine, select
from tests.builders import NOON

from leadrelay.domain import Account, Caps, DateRange, Rep, Role, Seniority, Team, WorkingHours
from leadrelay.store import (
    delete_reps,
    ledger,
    load_org,
    rep_ids,
    save_accounts,
    save_reps,
    save_teams,
    team_ids,
)
from leadrelay.store.org import org_version
from leadrelay.store.routing import note_rotation
from leadrelay.store.tables import rr_ledger

FULL = Rep(
    id="zoe",
    name="Zoe Field",
    email="zoe@example.com",
    teams=("emea", "enterprise"),
    role=Role.MANAGER,
    timezone="Europe/Berlin",
    working_hours=WorkingHours.parse("mon-fri 09:00-17:00; sat 10:00-12:00"),
    out_of_office=(DateRange(date(2026, 12, 1), date(2026, 12, 5)), DateRange.parse("2027-01-02")),
    weight=2.5,
    caps=Caps(per_day=5, per_week=None, per_month=80),
    skills=frozenset({"industry:airline", "language:de"}),
    regions=("EMEA", "DE"),
    seniority=Seniority.SENIOR,
    office_lat=52.52,
    office_lon=13.405,
    active=False,
)


def test_reps_round_trip_with_caps_hours_and_absences(engine: Engine) -> None:
    plain = Rep(id="abe")
    with engine.begin() as conn:
        save_reps(conn, [FULL, plain])
    with engine.connect() as conn:
        org = load_org(conn)
    assert org.reps == {"zoe": FULL, "abe": plain}
    assert org.reps["abe"].caps is None  # no cap columns: the policy default applies


def test_reps_keep_the_order_they_were_first_saved_in(engine: Engine) -> None:
    with engine.begin() as conn:
        save_reps(conn, [Rep(id="mia", teams=("sdr",)), Rep(id="ada", teams=("sdr",))])
    with engine.begin() as conn:
        save_reps(conn, [Rep(id="bob", teams=("sdr",)), Rep(id="mia", name="Mia", teams=("sdr",))])
    with engine.connect() as conn:
        org = load_org(conn)
    assert list(org.reps) == ["mia", "ada", "bob"]
    assert org.reps["mia"].name == "Mia"
    assert org.team_members == {"sdr": ("mia", "ada", "bob")}


def test_teams_and_accounts_round_trip(engine: Engine) -> None:
    with engine.begin() as conn:
        save_reps(conn, [Rep(id="ana", teams=("emea",))])
        save_teams(conn, [Team(id="enterprise", name="Enterprise", owner="ana")])
        save_accounts(
            conn,
            [
                Account(id="a1", name="Acme", domain="https://www.Acme.com/about", owner="ana"),
                Account(id="a2", name="No site"),
            ],
        )
    with engine.connect() as conn:
        org = load_org(conn)
        assert team_ids(conn) == {"enterprise", "emea"}
        assert rep_ids(conn) == {"ana"}
    assert org.teams == {"enterprise": Team(id="enterprise", name="Enterprise", owner="ana")}
    assert org.accounts_by_domain == {
        "acme.com": Account(id="a1", name="Acme", domain="acme.com", owner="ana")
    }


def test_saving_updates_by_id_and_changes_the_org_version(engine: Engine) -> None:
    with engine.begin() as conn:
        save_reps(conn, [Rep(id="ana", weight=1.0)])
        first = org_version(conn)
    with engine.connect() as conn:
        cached = load_org(conn)
        assert load_org(conn) is cached  # unchanged version: no re-read
    with engine.begin() as conn:
        save_reps(conn, [Rep(id="ana", weight=3.0)])
        assert org_version(conn) != first
    with engine.connect() as conn:
        assert load_org(conn).reps["ana"].weight == 3.0


def test_a_rep_leaving_keeps_their_place_in_every_rotation(engine: Engine) -> None:
    with engine.begin() as conn:
        save_reps(conn, [Rep(id="ana"), Rep(id="bo")])
        note_rotation(conn, "inbound", "ana", 1, NOON)
        note_rotation(conn, "inbound", "bo", 2, NOON)
    with engine.connect() as conn:
        before = ledger(conn)
    with engine.begin() as conn:
        save_reps(conn, [Rep(id="ana", active=False)])
        delete_reps(conn, ["bo"])
    with engine.connect() as conn:
        assert ledger(conn) == before
        rows = conn.execute(select(rr_ledger.c.rep_id).order_by(rr_ledger.c.rep_id))
        assert rows.scalars().all() == ["ana", "bo"]
        assert list(load_org(conn).reps) == ["ana"]
    with engine.begin() as conn:
        save_reps(conn, [Rep(id="ana"), Rep(id="bo")])  # back again: same place
    with engine.connect() as conn:
        assert ledger(conn) == before


def test_a_rep_listed_twice_is_saved_once_as_last_listed(engine: Engine) -> None:
    with engine.begin() as conn:
        save_reps(conn, [Rep(id="ana", weight=1.0), Rep(id="bo"), Rep(id="ana", weight=2.0)])
        save_teams(conn, [Team(id="t", name="first"), Team(id="t", name="second")])
    with engine.connect() as conn:
        org = load_org(conn)
    assert list(org.reps) == ["ana", "bo"]
    assert org.reps["ana"].weight == 2.0
    assert org.teams["t"].name == "second"
