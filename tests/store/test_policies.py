"""Policy versions: stored once per text, numbered, one active."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import Engine, func, select
from tests.builders import policy, route

from leadrelay.errors import UnknownNameError
from leadrelay.store import activate, active_policy_text, list_versions, policy_text, save_policy
from leadrelay.store.tables import policies


def _policy(text: str):
    return policy(
        route("all", reps=["ana"]), text=text, digest=hashlib.sha256(text.encode()).hexdigest()
    )


def test_saving_the_same_text_twice_keeps_one_revision(engine: Engine) -> None:
    with engine.begin() as conn:
        first = save_policy(conn, _policy("routes: [a]"))
        again = save_policy(conn, _policy("routes: [a]"))
        other = save_policy(conn, _policy("routes: [b]"))
        rows = conn.scalar(select(func.count()).select_from(policies))
    assert first == again
    assert other == first + 1
    assert rows == 2


def test_activating_a_revision_deactivates_the_previous_one(engine: Engine) -> None:
    with engine.begin() as conn:
        assert active_policy_text(conn) is None
        one = save_policy(conn, _policy("one"))
        two = save_policy(conn, _policy("two"))
        activate(conn, one)
        activate(conn, two)
    with engine.connect() as conn:
        assert active_policy_text(conn) == (two, "two")
        assert policy_text(conn, one) == "one"
        versions = list_versions(conn)
    assert [(v.revision, v.active, v.text) for v in versions] == [
        (one, False, "one"),
        (two, True, "two"),
    ]
    assert versions[0].created_at.tzinfo is not None


def test_activating_an_unknown_revision_names_the_known_ones(engine: Engine) -> None:
    with engine.begin() as conn:
        save_policy(conn, _policy("one"))
        with pytest.raises(UnknownNameError, match=r"no policy revision 9 \(stored: \[1\]\)"):
            activate(conn, 9)
