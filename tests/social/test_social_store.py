"""Relationships in the store (SQLite and PostgreSQL), and ``leadrelay load relationships``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from tests.cli.cli_support import ok, run, words
from tests.social.conftest import ANA, BO, DANA, REPS, write

from leadrelay.domain.lead import Lead
from leadrelay.domain.org import Account
from leadrelay.errors import InputFileError
from leadrelay.files import read_relationships
from leadrelay.social import Edge, SocialGraph
from leadrelay.store import open_store, save_accounts, save_reps
from leadrelay.store.relationships import (
    delete_relationships,
    load_edges,
    load_graph,
    relationship_sources,
    save_relationships,
)
from leadrelay.store.tables import relationships

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def engine(db_url: str) -> Engine:
    engine = open_store(db_url)
    with engine.begin() as conn:
        save_reps(conn, REPS)
    yield engine  # type: ignore[misc]
    engine.dispose()


def _import(engine: Engine, path: Path, **options: str) -> int:
    with engine.begin() as conn:
        read = read_relationships(path, known_reps={r.id for r in REPS}, **options)  # type: ignore[arg-type]
        return save_relationships(conn, read.source, read.edges)


def test_edges_round_trip_and_build_the_same_graph(engine: Engine, tmp_path: Path) -> None:
    dana = read_relationships(
        write(tmp_path, "d.csv", DANA), employee="Dana Whitfield <dana@our.co>"
    )
    ana = read_relationships(write(tmp_path, "a.csv", ANA), employee="ana")
    with engine.begin() as conn:
        save_relationships(conn, dana.source, dana.edges)
        save_relationships(conn, ana.source, ana.edges)
    with engine.connect() as conn:
        assert load_edges(conn) == [*dana.edges, *ana.edges]
        assert relationship_sources(conn) == {
            "linkedin:person:dana@our.co": len(dana.edges),
            "linkedin:rep:ana": len(ana.edges),
        }
        stored = load_graph(conn)
    built = SocialGraph.build([*dana.edges, *ana.edges], REPS)
    lead = Lead(received_at=NOW, company="Acme")
    assert stored.proximity(lead, ["ana", "bo"]) == built.proximity(lead, ["ana", "bo"])
    assert stored.proximity(lead, ["ana"])["ana"].connector == "Dana Whitfield (employee)"


def test_reimporting_a_source_replaces_only_its_edges(engine: Engine, tmp_path: Path) -> None:
    assert _import(engine, write(tmp_path, "b.csv", BO), employee="bo") == 0
    assert _import(engine, write(tmp_path, "a.csv", ANA), employee="ana") == 0
    smaller = write(tmp_path, "b2.csv", BO.splitlines()[0] + "\n")  # Bo removed every connection
    assert _import(engine, smaller, employee="bo") > 0
    with engine.connect() as conn:
        sources = relationship_sources(conn)
        assert "linkedin:rep:bo" not in sources
        assert sources["linkedin:rep:ana"] > 0
        assert delete_relationships(conn, "linkedin:rep:ana") == sources["linkedin:rep:ana"]
        assert relationship_sources(conn) == {}


def test_the_cached_graph_follows_relationships_reps_and_accounts(engine: Engine) -> None:
    lead = Lead(received_at=NOW, domain="acme.com")
    with engine.begin() as conn:
        save_relationships(conn, "file:x.csv", [Edge("rep:ana", "company:acme", "knows", 0.6)])
        first = load_graph(conn)
        assert load_graph(conn) is first  # nothing changed: the same graph
        assert first.proximity(lead, ["ana"]) == {}  # acme.com is not yet known as Acme
        save_accounts(conn, [Account("acc-1", "Acme Inc", "www.acme.com", "ana")])
        second = load_graph(conn)
        assert second.proximity(lead, ["ana"])["ana"].path == ("Ana Lopez (rep)", "Acme Inc")
        save_relationships(conn, "file:x.csv", [Edge("rep:bo", "company:acme", "knows", 0.6)])
        assert set(load_graph(conn).proximity(lead, ["ana", "bo"])) == {"bo"}


def test_a_bad_file_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    _import(engine, write(tmp_path, "b.csv", BO), employee="bo")
    broken = write(tmp_path, "b.csv", BO + "Al,Bo,,,Acme,VP,someday\n")
    with pytest.raises(InputFileError):
        _import(engine, broken, employee="bo")
    with engine.connect() as conn:
        assert conn.execute(select(relationships.c.source).distinct()).scalars().all() == [
            "linkedin:rep:bo"
        ]
        assert len(load_edges(conn)) == 3  # knows Jo, Jo's name, Jo at Acme


def test_cli_loads_each_format_and_refuses_bad_files_with_exit_2(
    sqlite_url: str, tmp_path: Path
) -> None:
    reps = write(tmp_path, "reps.csv", "id,name,email\nana,Ana Lopez,ana@our.co\nbo,Bo Chen,\n")
    ok("init", db=sqlite_url)
    ok("load", "reps", reps, db=sqlite_url)
    export = write(tmp_path, "Connections.csv", ANA)
    loaded = ok("load", "relationships", export, "--employee", "ana", db=sqlite_url)
    assert "loaded 9 relationships (connections)" in words(loaded.stdout)
    assert "as 'linkedin:rep:ana'" in words(loaded.stdout)
    again = ok("load", "relationships", tmp_path / "Connections.csv", "--employee", "ana",
               db=sqlite_url)  # fmt: skip
    assert "replacing 9" in words(again.stdout)
    crm = write(
        tmp_path,
        "owners.csv",
        "owner,email,first_name,last_name,company\nbo,jo@acme.com,Jo,Park,Acme\n",
    )
    assert "(crm)" in ok("load", "relationships", crm, db=sqlite_url).stdout

    bad = write(
        tmp_path,
        "rels.csv",
        "a,b,kind,strength\nrep:ana,company:Acme,,0.5\nrep:zed,company:Acme,,\n",
    )
    result = run("load", "relationships", bad, db=sqlite_url)
    assert result.exit_code == 2
    assert f"{bad} row 3: a: 'zed' is not a loaded rep (load reps first)" in result.stderr
    no_employee = run("load", "relationships", tmp_path / "Connections.csv", db=sqlite_url)
    assert no_employee.exit_code == 2
    assert "--employee" in no_employee.stderr
    wrong_format = run("load", "relationships", bad, "--format", "linkedin", db=sqlite_url)
    assert wrong_format.exit_code == 2
    assert "did you mean" not in wrong_format.stderr or "connections" in wrong_format.stderr

    engine = open_store(sqlite_url)
    try:
        with engine.connect() as conn:
            assert relationship_sources(conn) == {"crm": 4, "linkedin:rep:ana": 9}
    finally:
        engine.dispose()
