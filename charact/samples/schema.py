"""The catalogue schema (SQLAlchemy Core) and its migrations.

Written against SQLAlchemy Core with portable types, so the same code serves the embedded
SQLite file of a project and a lab's PostgreSQL server (``CHARACT_DB_URL``).

Every row carries the project name, so one server can hold many projects. The schema version
is stored in ``charact_meta``; :func:`upgrade` runs the migrations from the stored version to
:data:`SCHEMA_VERSION` in one transaction, and a catalogue from a newer charact is refused.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    inspect,
    select,
)

from ..core.errors import CatalogError, SchemaVersionError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "metadata", "project_key", "schema_version", "upgrade"]

SCHEMA_VERSION = 1

metadata = MetaData()

meta = Table(
    "charact_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

samples = Table(
    "samples",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uid", String(36), nullable=False, unique=True),  # immutable internal id
    Column("project", String(255), nullable=False),
    Column("sample_id", String(128), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("state", String(64), nullable=False, default=""),
    Column("cycles", Integer, nullable=True),
    Column("extra", Text, nullable=False, default="{}"),  # free manifest columns, JSON
    Column("in_manifest", Boolean, nullable=False, default=True),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    UniqueConstraint("project", "sample_id", name="uq_sample_project_id"),
)

relationships = Table(
    "relationships",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sample", Integer, ForeignKey("samples.id", ondelete="CASCADE"), nullable=False),
    Column("related", Integer, ForeignKey("samples.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(32), nullable=False),  # "parent": `related` is the parent of `sample`
    UniqueConstraint("sample", "related", "kind", name="uq_relationship"),
)

measurements = Table(
    "measurements",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project", String(255), nullable=False),
    Column("measurement_id", String(32), nullable=False),  # from the content hash
    Column("sample", Integer, ForeignKey("samples.id", ondelete="RESTRICT"), nullable=True),
    Column("technique", String(16), nullable=False),
    Column("path", Text, nullable=False),  # relative to the project root, POSIX
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("reader", String(64), nullable=False),
    Column("reader_version", String(64), nullable=False),
    Column("instrument", Text, nullable=False, default=""),
    Column("conditions", Text, nullable=False, default="{}"),  # JSON: etch depth, T, cycle …
    Column("link_reason", Text, nullable=False, default=""),
    Column("ingested_at", String(32), nullable=False),
    UniqueConstraint("project", "path", name="uq_measurement_path"),
    UniqueConstraint("project", "sha256", name="uq_measurement_sha"),
)
Index("ix_measurements_sample", measurements.c.sample)

results = Table(
    "results",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project", String(255), nullable=False),
    Column("analysis", String(64), nullable=False),
    Column("sample", Integer, ForeignKey("samples.id", ondelete="CASCADE"), nullable=True),
    Column(
        "measurement", Integer, ForeignKey("measurements.id", ondelete="CASCADE"), nullable=True
    ),
    Column("settings_hash", String(32), nullable=False),
    Column("settings", Text, nullable=False, default="{}"),
    Column("inputs", Text, nullable=False, default="[]"),  # JSON list of input sha256
    Column("inputs_hash", String(32), nullable=False),
    Column("parameters", Text, nullable=False, default="{}"),  # JSON summary of the result
    Column("result_file", Text, nullable=False, default=""),  # relative to the project
    Column("charact_version", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
    UniqueConstraint("project", "analysis", "settings_hash", "inputs_hash", name="uq_result_key"),
)

events = Table(
    "ingest_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project", String(255), nullable=False),
    Column("time", String(32), nullable=False),
    Column("path", Text, nullable=False),
    Column("event", String(32), nullable=False),  # added, changed, moved, relinked
    Column("old_sha256", String(64), nullable=True),
    Column("new_sha256", String(64), nullable=True),
    Column("detail", Text, nullable=False, default=""),
)


def _v1(conn: Connection) -> None:
    metadata.create_all(conn)


#: ``MIGRATIONS[n]`` brings a catalogue from version ``n - 1`` to ``n``.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {1: _v1}


def schema_version(conn: Connection) -> int:
    """The stored schema version; 0 for an empty database.

    Raises
    ------
    CatalogError
        The database holds tables but no ``charact_meta``: it is not a charact catalogue.
    """
    names = set(inspect(conn).get_table_names())
    if "charact_meta" not in names:
        if names:
            raise CatalogError(
                f"the database holds tables ({', '.join(sorted(names)[:5])}) but is not a "
                "charact catalogue"
            )
        return 0
    row = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).first()
    if row is None:
        raise CatalogError("charact_meta has no schema_version: the catalogue is damaged")
    try:
        return int(row[0])
    except ValueError:
        raise CatalogError(f"schema_version {row[0]!r} is not a number") from None


def project_key(conn: Connection, *, default: str) -> str:
    """The project name an embedded catalogue was created with (stored on first use)."""
    row = conn.execute(select(meta.c.value).where(meta.c.key == "project")).first()
    if row is None:
        conn.execute(meta.insert().values(key="project", value=default))
        return default
    return str(row[0])


def upgrade(conn: Connection, *, target: int | None = None) -> tuple[int, int]:
    """Migrate the catalogue on ``conn`` to ``target`` (the caller holds the transaction).

    Returns
    -------
    (int, int)
        The version before and after.

    Raises
    ------
    SchemaVersionError
        The catalogue is newer than this charact understands.
    """
    target = SCHEMA_VERSION if target is None else target
    current = schema_version(conn)
    if current > target:
        raise SchemaVersionError(
            f"the catalogue has schema version {current}, but this charact understands up to "
            f"{target}",
            hint="upgrade charact (pip install -U charact); the catalogue was left untouched",
        )
    for version in range(current + 1, target + 1):
        MIGRATIONS[version](conn)
        if version == 1:
            conn.execute(meta.insert().values(key="schema_version", value="1"))
        else:
            conn.execute(
                meta.update().where(meta.c.key == "schema_version").values(value=str(version))
            )
    return current, target
