"""Duplicates, fuzzy account names and the outbox, through live and bulk routing on a store."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select
from tests.builders import NOON, lead, rep

from leadrelay.domain.decision import Status
from leadrelay.domain.org import Account, Team
from leadrelay.policy import load_policy_text
from leadrelay.policy.compiled import CompiledPolicy
from leadrelay.store import open_store, save_accounts, save_reps, save_teams
from leadrelay.store.tables import assignments, outbox
from leadrelay.workflow import route_lead, route_many

POLICY = """\
matching:
  duplicates: {keys: [email, phone], window_days: 30}
  accounts: {fuzzy_name: 90}
  existing_account: account_owner
notifications:
  email: true
  webhooks: [{name: crm, url: "http://127.0.0.1:9/hook", events: [assigned, duplicate]}]
routes:
  - {name: all, to: {team: t}, strategy: round_robin}
"""


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    store = open_store(db_url)
    with store.begin() as conn:
        save_reps(conn, [rep(r, email=f"{r}@s.example", teams=("t",)) for r in ("ana", "bo")])
        save_teams(conn, [Team("t", owner="ana")])
        save_accounts(conn, [Account("globex", "Globex Corporation", None, owner="bo")])
    yield store
    store.dispose()


@pytest.fixture
def pol() -> CompiledPolicy:
    return load_policy_text(POLICY)


def _count(engine: Engine, table: object, *where: object) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(table).where(*where)) or 0)  # type: ignore[arg-type]


def test_a_returning_person_is_linked_to_the_first_lead_not_routed(
    engine: Engine, pol: CompiledPolicy
) -> None:
    first = route_lead(engine, lead(external_id="a", email="jo@acme.example"), pol)
    again = route_lead(
        engine,
        lead(external_id="b", email="JO+promo@Acme.example", received_at=NOON + timedelta(days=1)),
        pol,
    )
    assert first.decision.status is Status.ASSIGNED
    assert again.decision.status is Status.DUPLICATE
    assert again.decision.duplicate_of == first.lead_id
    assert again.decision.owner is None
    assert "lead 'a'" in again.decision.reason
    assert first.decision.owner is not None and first.decision.owner in again.decision.reason
    # one owner for one person: the duplicate holds no assignment
    assert _count(engine, assignments, assignments.c.lead_id == again.lead_id) == 0
    # outside the window the person is new again
    later = route_lead(
        engine,
        lead(external_id="c", email="jo@acme.example", received_at=NOON + timedelta(40)),
        pol,
    )
    assert later.decision.status is Status.ASSIGNED


def test_phones_match_across_formats(engine: Engine, pol: CompiledPolicy) -> None:
    route_lead(engine, lead(external_id="p1", phone="+1 415 555 0123"), pol)
    dup = route_lead(engine, lead(external_id="p2", phone="(415) 555-0123", country="US"), pol)
    assert dup.decision.status is Status.DUPLICATE
    assert "phone +14155550123" in dup.decision.reason


def test_bulk_links_copies_inside_one_batch_and_a_dry_run_says_which(
    engine: Engine, pol: CompiledPolicy
) -> None:
    batch = [
        lead(external_id="x1", email="kim@k.example"),
        lead(external_id="x2", email="lee@l.example"),
        lead(external_id="x3", email="Kim@K.example", received_at=NOON + timedelta(hours=1)),
    ]
    dry = route_many(engine, batch, pol, dry_run=True)
    assert dry[2].decision.status is Status.DUPLICATE
    assert dry[2].decision.duplicate_of is None and "'x1'" in dry[2].decision.reason
    real = route_many(engine, batch, pol)
    assert [r.decision.status for r in real] == [Status.ASSIGNED, Status.ASSIGNED, Status.DUPLICATE]
    assert real[2].decision.duplicate_of == real[0].lead_id
    # and later live leads find the bulk run's originals
    live = route_lead(engine, lead(external_id="x4", email="kim@k.example"), pol)
    assert live.decision.duplicate_of == real[0].lead_id


def test_two_copies_arriving_at_once_get_one_owner(engine: Engine, pol: CompiledPolicy) -> None:
    start = threading.Barrier(2)
    results = []

    def send(ext: str) -> None:
        start.wait()
        results.append(route_lead(engine, lead(external_id=ext, email="twin@t.example"), pol))

    threads = [threading.Thread(target=send, args=(f"t{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(r.decision.status.value for r in results)
    assert statuses == ["assigned", "duplicate"]


def test_a_company_name_finds_its_account_without_a_domain(
    engine: Engine, pol: CompiledPolicy
) -> None:
    result = route_lead(engine, lead(email="cfo@gmail.com", company="GLOBEX Corp."), pol)
    decision = result.decision
    assert (decision.owner, decision.account, decision.route) == (
        "bo",
        "globex",
        "existing-account",
    )
    assert decision.account_match is not None and "score 100" in decision.account_match


def test_routing_writes_the_messages_in_the_same_transaction(
    engine: Engine, pol: CompiledPolicy
) -> None:
    first = route_lead(engine, lead(external_id="m1", email="ann@a.example"), pol)
    owner = first.decision.owner
    with engine.connect() as conn:
        rows = conn.execute(select(outbox.c.channel, outbox.c.target, outbox.c.event)).all()
    assert sorted(rows) == [
        ("email", f"{owner}@s.example", "assigned"),
        ("webhook", "http://127.0.0.1:9/hook", "assigned"),
    ]
    route_lead(engine, lead(external_id="m2", email="ann@a.example"), pol)
    with engine.connect() as conn:
        told = conn.execute(
            select(outbox.c.channel, outbox.c.target).where(outbox.c.event == "duplicate")
        ).all()
    assert sorted(told) == [("email", f"{owner}@s.example"), ("webhook", "http://127.0.0.1:9/hook")]
    # a screened or manual-free policy without notifications writes none
    quiet = load_policy_text("routes:\n  - {name: all, to: {team: t}}\n")
    before = _count(engine, outbox)
    route_lead(engine, lead(external_id="m3", email="zed@z.example"), quiet)
    assert _count(engine, outbox) == before
