"""Alembic environment: runs on the connection ``leadrelay.store.engine.upgrade`` passes in.

There is no alembic.ini: ``upgrade`` builds the configuration in code, opens the transaction
(under an advisory lock on PostgreSQL) and hands the connection over in ``config.attributes``.
"""

from __future__ import annotations

from alembic import context

from leadrelay.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "run migrations through leadrelay.store.upgrade(engine), not the alembic CLI"
    )

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
