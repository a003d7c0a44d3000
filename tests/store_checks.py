"""What tests read back from the store that no leadrelay function reads in that shape."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine, select

from leadrelay.store.tables import rep_load


def rep_days(engine: Engine, rep_id: str) -> dict[date, int]:
    """A rep's daily counters: the leads given on each of its local days."""
    with engine.connect() as conn:
        return dict(
            conn.execute(
                select(rep_load.c.period_start, rep_load.c.count).where(
                    rep_load.c.rep_id == rep_id, rep_load.c.period == "day"
                )
            ).all()
        )
