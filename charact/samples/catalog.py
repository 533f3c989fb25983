"""The sample catalogue: samples, their measurements and results, keyed by sample ID.

By default it is one SQLite file, ``.charact/catalog.sqlite`` inside the project (WAL
journal, foreign keys on). Set ``CHARACT_DB_URL`` (or pass ``url=``) to any SQLAlchemy URL,
e.g. ``postgresql+psycopg://lab-db/charact``, to share one catalogue across a lab: the code
is the same.

Ingest is planned first and written in one transaction: a file that cannot be read, a bad
manifest or any error while writing leaves the catalogue exactly as it was.
"""

from __future__ import annotations

import json
import math
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import SQLAlchemyError

from ..core.errors import (
    CatalogError,
    CharactError,
    UnknownFormatError,
    UnknownSampleError,
    close_matches,
)
from ..core.provenance import charact_version, now_iso, sha256_file
from ..core.readers import detect_format, read, read_head, sidecar_map
from . import schema
from .manifest import Sample
from .project import Project
from .readcache import remember

__all__ = ["CONDITION_ATTRS", "Catalog", "IngestError", "IngestReport", "measurement_id_for"]

#: Measurement attrs recorded as conditions in the catalogue when a reader provides them.
CONDITION_ATTRS = (
    "measurement_type",
    "etch_time",
    "etch_depth",
    "etch_level",
    "temperature",
    "current",
    "cycle",
    "wavelength",
    "laser_wavelength",
    "excitation_energy",
    "pass_energy",
    "pixel_size_nm",
    "pixel_size_source",
    "acquired",
)

Progress = Callable[[int, int, str], None]


def measurement_id_for(sha256: str) -> str:
    """The measurement ID: the first 16 hex digits of the file's SHA-256.

    Derived from content, so the same file gets the same ID in any catalogue and an output
    file carrying it can be re-linked to its raw data.
    """
    return sha256[:16]


class IngestError(CatalogError):
    """Ingest found problems; nothing was written. ``problems`` lists ``(path, message)``."""

    def __init__(self, problems: list[tuple[str, str]], *, root: Path) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {msg}" for _, msg in problems)
        super().__init__(
            f"ingest of {root} stopped: {len(problems)} problem(s); the catalogue is unchanged\n"
            f"{lines}",
            hint="fix the files or the manifest, or use --skip-errors to ingest the rest",
        )


@dataclass
class IngestReport:
    """What an ingest did (or, with problems and no ``skip_errors``, would have done)."""

    added: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    moved: list[tuple[str, str]] = field(default_factory=list)
    relinked: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    sidecars: list[tuple[str, str]] = field(default_factory=list)
    unlinked: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    samples_added: list[str] = field(default_factory=list)
    samples_updated: list[str] = field(default_factory=list)
    samples_not_in_manifest: list[str] = field(default_factory=list)

    @property
    def changes(self) -> int:
        """How many catalogue rows this ingest added or altered."""
        return (
            len(self.added)
            + len(self.changed)
            + len(self.moved)
            + len(self.relinked)
            + len(self.samples_added)
            + len(self.samples_updated)
        )

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) for k, v in vars(self).items()} | {"changes": self.changes}


@dataclass
class _Planned:
    kind: str  # add, change, move, relink
    path: str
    sha256: str
    size: int
    sample_id: str | None
    technique: str = ""
    reader: str = ""
    instrument: str = ""
    conditions: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    old_path: str = ""
    old_sha256: str = ""


def _conditions(attrs: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key in CONDITION_ATTRS:
        value = attrs.get(key)
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int | float):
            if math.isfinite(value):
                out[key] = value
        elif hasattr(value, "item"):
            v = value.item()
            if isinstance(v, int | float) and math.isfinite(v):
                out[key] = v
        elif isinstance(value, str) and value:
            out[key] = value
    return out


class Catalog:
    """The catalogue of one project.

    Parameters
    ----------
    project
        A :class:`~charact.samples.project.Project` or its folder.
    url
        SQLAlchemy database URL; default ``CHARACT_DB_URL`` or the project's SQLite file.

    Examples
    --------
    >>> cat = Catalog("session-2026-11-20")          # doctest: +SKIP
    >>> report = cat.ingest()                         # doctest: +SKIP
    >>> cat.show_sample("MSiC-P01")["measurements"]   # doctest: +SKIP
    """

    def __init__(self, project: Project | str | PathLike[str], *, url: str | None = None) -> None:
        self.project = project if isinstance(project, Project) else Project(project)
        embedded = not (url or os.environ.get("CHARACT_DB_URL"))
        self.url = url or os.environ.get("CHARACT_DB_URL") or self._sqlite_url()
        self.engine = self._make_engine(self.url)
        #: The project name rows are stored under. A shared server keys rows by the name in
        #: charact.toml; the embedded catalogue belongs to its folder, so it keeps the name it
        #: was created with even if charact.toml is renamed later.
        self.key = self.project.name
        try:
            with self.engine.begin() as conn:
                schema.upgrade(conn)
                if embedded:
                    self.key = schema.project_key(conn, default=self.project.name)
        except SQLAlchemyError as exc:
            self.engine.dispose()
            raise CatalogError(f"cannot open the catalogue at {self._where()}: {exc}") from None
        except CharactError:
            self.engine.dispose()
            raise

    # -- connection ----------------------------------------------------------------------

    def _sqlite_url(self) -> str:
        state = self.project.state_dir
        state.mkdir(exist_ok=True)
        return f"sqlite:///{state / 'catalog.sqlite'}"

    def _where(self) -> str:
        return (
            str(self.project.state_dir / "catalog.sqlite")
            if self.url.startswith("sqlite")
            else (self.engine.url.render_as_string(hide_password=True))
        )

    @staticmethod
    def _make_engine(url: str) -> Engine:
        engine = create_engine(url, future=True)
        if engine.dialect.name == "sqlite":

            @event.listens_for(engine, "connect")
            def _pragmas(dbapi_conn: Any, _record: Any) -> None:
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA foreign_keys=ON")
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA busy_timeout=10000")
                cur.close()

        return engine

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A connection in a transaction, committed on success and rolled back on error."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise CatalogError(f"catalogue write failed and was rolled back: {exc}") from None

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            return schema.schema_version(conn)

    # -- ingest --------------------------------------------------------------------------

    def plan_ingest(
        self, *, progress: Progress | None = None
    ) -> tuple[IngestReport, list[_Planned]]:
        """Work out what :meth:`ingest` would write, without writing anything."""
        project = self.project
        project.reload()
        manifest_samples = project.samples  # validates the manifest first
        explicit = project.explicit_links()
        files = project.scan()
        report = IngestReport()
        plan: list[_Planned] = []
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    schema.measurements.c.path,
                    schema.measurements.c.sha256,
                    schema.samples.c.sample_id,
                )
                .select_from(schema.measurements.outerjoin(schema.samples))
                .where(schema.measurements.c.project == self.key)
            ).all()
        by_path = {r.path: r for r in rows}
        by_sha = {r.sha256: r for r in rows}
        companions = sidecar_map(files)
        report.sidecars = sorted(companions.items())
        examined = []
        for rel in files:
            if rel in companions:
                continue  # read with its data file (e.g. a JEOL .txt beside its .tif)
            try:
                link = project.link(rel, explicit)
            except CatalogError as exc:
                report.problems.append((rel, str(exc)))
                continue
            path = project.root / rel
            examined.append((rel, link, sha256_file(path), path.stat().st_size))
        # Identical files are one measurement: the copy already registered at its path keeps
        # it, otherwise the first in path order; the others are reported as duplicates.
        owner: dict[str, str] = {}
        for rel, _, sha, _ in examined:
            registered_here = rel in by_path and by_path[rel].sha256 == sha
            if sha not in owner or registered_here:
                owner[sha] = rel
        for i, (rel, link, sha, size) in enumerate(examined):
            if progress is not None:
                progress(i, len(examined), rel)
            path = project.root / rel
            if owner[sha] != rel:
                report.duplicates.append((rel, owner[sha]))
                continue
            old = by_path.get(rel)
            if old is not None and old.sha256 == sha:
                if old.sample_id != link.sample_id:
                    plan.append(
                        _Planned("relink", rel, sha, size, link.sample_id, reason=link.reason)
                    )
                    report.relinked.append(rel)
                else:
                    report.unchanged.append(rel)
                continue
            twin = by_sha.get(sha)
            if twin is not None and twin.path != rel:
                if (project.root / twin.path).exists():
                    report.duplicates.append((rel, twin.path))
                else:
                    plan.append(
                        _Planned(
                            "move",
                            rel,
                            sha,
                            size,
                            link.sample_id,
                            reason=link.reason,
                            old_path=twin.path,
                        )
                    )
                    report.moved.append((twin.path, rel))
                continue
            head = read_head(path)
            try:
                reader, basis = detect_format(path, technique=link.technique, head=head)
            except UnknownFormatError as exc:
                if link.sample_id is None:
                    report.ignored.append(rel)
                else:
                    report.problems.append((rel, str(exc)))
                continue
            if basis == "extension" and link.sample_id is None:
                report.ignored.append(rel)  # e.g. notes.txt: not data, and nobody said it was
                continue
            started = time.perf_counter()
            try:
                obj = read(path, format=reader.name, sample_id=link.sample_id or "")
            except CharactError as exc:
                report.problems.append((rel, str(exc)))
                continue
            # A slow file is kept parsed, so that the analysis does not decode it again.
            remember(project.state_dir, sha, obj, time.perf_counter() - started)
            item = _Planned(
                "change" if old is not None else "add",
                rel,
                sha,
                size,
                link.sample_id,
                technique=reader.technique,
                reader=reader.name,
                instrument=str(obj.attrs.get("instrument", "")),
                conditions=_conditions(dict(obj.attrs)),
                reason=link.reason,
                old_sha256=old.sha256 if old is not None else "",
            )
            plan.append(item)
            (report.changed if old is not None else report.added).append(rel)
            if link.sample_id is None:
                report.unlinked.append(rel)
        if progress is not None:
            progress(len(examined), len(examined), "")
        # Registered files that are gone (and did not just move) stay in the catalogue with
        # their results — nothing is lost — but the user hears about it.
        moved_from = {old for old, _ in report.moved}
        present = set(files)
        report.missing = sorted(p for p in by_path if p not in present and p not in moved_from)
        self._plan_samples(manifest_samples, report)
        return report, plan

    def _plan_samples(self, manifest_samples: list[Sample], report: IngestReport) -> None:
        with self.engine.connect() as conn:
            stored = {
                r.sample_id: r
                for r in conn.execute(
                    select(schema.samples).where(schema.samples.c.project == self.key)
                )
            }
            parents = self._parents(conn)
        for s in manifest_samples:
            row = stored.get(s.sample_id)
            if row is None:
                report.samples_added.append(s.sample_id)
            elif (
                row.description != s.description
                or row.state != s.state
                or row.cycles != s.cycles
                or json.loads(row.extra) != s.extra
                or parents.get(s.sample_id) != s.parent
                or not row.in_manifest
            ):
                report.samples_updated.append(s.sample_id)
        names = {s.sample_id for s in manifest_samples}
        report.samples_not_in_manifest = sorted(set(stored) - names)

    def _parents(self, conn: Connection) -> dict[str, str]:
        child, parent = schema.samples.alias("child"), schema.samples.alias("parent")
        rel = schema.relationships
        q = (
            select(child.c.sample_id, parent.c.sample_id.label("parent"))
            .select_from(
                rel.join(child, rel.c.sample == child.c.id).join(
                    parent, rel.c.related == parent.c.id
                )
            )
            .where(rel.c.kind == "parent", child.c.project == self.key)
        )
        return {r.sample_id: r.parent for r in conn.execute(q)}

    def ingest(
        self, *, skip_errors: bool = False, progress: Progress | None = None
    ) -> IngestReport:
        """Register every readable file of the project and link it to its sample.

        Idempotent: a file already registered with the same SHA-256 is left alone. A file whose
        content changed under the same path is re-read and reported as changed; a file that
        moved keeps its measurement ID.

        Parameters
        ----------
        skip_errors
            Write what could be read even if other files had problems (they are reported).
        progress
            ``progress(done, total, current_path)``, called as files are examined.

        Raises
        ------
        IngestError
            Any file linked to a sample (or recognised by a reader) could not be read, or a
            filename names an unknown sample; nothing is written unless ``skip_errors``.
        ManifestError, DuplicateSampleError, UnknownSampleError, MissingFileError
            The manifest is wrong; nothing is written.
        """
        report, plan = self.plan_ingest(progress=progress)
        if report.problems and not skip_errors:
            raise IngestError(report.problems, root=self.project.root)
        with self.transaction() as conn:
            self._write_samples(conn)
            pk = self._sample_pks(conn)
            self._write_measurements(conn, plan, pk)
        return report

    def _write_samples(self, conn: Connection) -> None:
        project, now = self.key, now_iso()
        t = schema.samples
        stored = {r.sample_id: r for r in conn.execute(select(t).where(t.c.project == project))}
        manifest = self.project.samples
        for s in manifest:
            values = {
                "description": s.description,
                "state": s.state,
                "cycles": s.cycles,
                "extra": json.dumps(s.extra, sort_keys=True),
                "in_manifest": True,
            }
            row = stored.get(s.sample_id)
            if row is None:
                conn.execute(
                    insert(t).values(
                        uid=str(uuid.uuid4()),
                        project=project,
                        sample_id=s.sample_id,
                        created_at=now,
                        updated_at=now,
                        **values,
                    )
                )
            elif any(getattr(row, k) != v for k, v in values.items()):
                conn.execute(update(t).where(t.c.id == row.id).values(updated_at=now, **values))
        names = {s.sample_id for s in manifest}
        gone = [sid for sid in stored if sid not in names]
        if gone:
            conn.execute(
                update(t)
                .where(t.c.project == project, t.c.sample_id.in_(gone))
                .values(in_manifest=False)
            )
        pk = self._sample_pks(conn)
        rel = schema.relationships
        conn.execute(delete(rel).where(rel.c.kind == "parent", rel.c.sample.in_(list(pk.values()))))
        for s in manifest:
            if s.parent is not None:
                conn.execute(
                    insert(rel).values(sample=pk[s.sample_id], related=pk[s.parent], kind="parent")
                )

    def _sample_pks(self, conn: Connection) -> dict[str, int]:
        t = schema.samples
        return {
            r.sample_id: r.id
            for r in conn.execute(select(t.c.sample_id, t.c.id).where(t.c.project == self.key))
        }

    def _write_measurements(
        self, conn: Connection, plan: list[_Planned], pk: dict[str, int]
    ) -> None:
        m, ev = schema.measurements, schema.events
        project, now, version = self.key, now_iso(), charact_version()
        for item in plan:
            sample = pk[item.sample_id] if item.sample_id is not None else None
            where = (m.c.project == project) & (m.c.path == (item.old_path or item.path))
            if item.kind == "add":
                conn.execute(
                    insert(m).values(
                        project=project,
                        measurement_id=measurement_id_for(item.sha256),
                        sample=sample,
                        technique=item.technique,
                        path=item.path,
                        sha256=item.sha256,
                        size=item.size,
                        reader=item.reader,
                        reader_version=version,
                        instrument=item.instrument,
                        conditions=json.dumps(item.conditions, sort_keys=True),
                        link_reason=item.reason,
                        ingested_at=now,
                    )
                )
                event_row = {"event": "added", "new_sha256": item.sha256}
            elif item.kind == "change":
                conn.execute(
                    update(m)
                    .where(where)
                    .values(
                        measurement_id=measurement_id_for(item.sha256),
                        sample=sample,
                        technique=item.technique,
                        sha256=item.sha256,
                        size=item.size,
                        reader=item.reader,
                        reader_version=version,
                        instrument=item.instrument,
                        conditions=json.dumps(item.conditions, sort_keys=True),
                        link_reason=item.reason,
                        ingested_at=now,
                    )
                )
                event_row = {
                    "event": "changed",
                    "old_sha256": item.old_sha256,
                    "new_sha256": item.sha256,
                    "detail": "content changed under the same path",
                }
            elif item.kind == "move":
                conn.execute(
                    update(m)
                    .where(where)
                    .values(path=item.path, sample=sample, link_reason=item.reason)
                )
                event_row = {
                    "event": "moved",
                    "new_sha256": item.sha256,
                    "detail": f"from {item.old_path}",
                }
            else:  # relink
                conn.execute(update(m).where(where).values(sample=sample, link_reason=item.reason))
                event_row = {
                    "event": "relinked",
                    "new_sha256": item.sha256,
                    "detail": f"to sample {item.sample_id}",
                }
            conn.execute(insert(ev).values(project=project, time=now, path=item.path, **event_row))

    # -- queries -------------------------------------------------------------------------

    def sample_ids(self) -> list[str]:
        """Every sample ID of the project, sorted."""
        t = schema.samples
        with self.engine.connect() as conn:
            return sorted(
                r[0] for r in conn.execute(select(t.c.sample_id).where(t.c.project == self.key))
            )

    def resolve_sample(self, sample_id: str) -> str:
        """Return ``sample_id`` if known; otherwise raise with close matches.

        A unique case-insensitive match is accepted (``msic-p01`` → ``MSiC-P01``).
        """
        ids = self.sample_ids()
        if sample_id in ids:
            return sample_id
        folded = [s for s in ids if s.lower() == sample_id.lower()]
        if len(folded) == 1:
            return folded[0]
        hits = close_matches(sample_id, ids)
        raise UnknownSampleError(
            f"unknown sample ID {sample_id!r} in project {self.key!r}",
            hint=(
                f"did you mean {', '.join(map(repr, hits))}?"
                if hits
                else f"known samples: {', '.join(ids) or 'none (run charact ingest)'}"
            ),
        )

    def list_samples(self) -> list[dict[str, Any]]:
        """One dict per sample with its counts of measurements by technique."""
        s, m = schema.samples, schema.measurements
        with self.engine.connect() as conn:
            parents = self._parents(conn)
            counts: dict[str, dict[str, int]] = {}
            for row in conn.execute(
                select(s.c.sample_id, m.c.technique, func.count(m.c.id))
                .select_from(m.join(s))
                .where(s.c.project == self.key)
                .group_by(s.c.sample_id, m.c.technique)
            ):
                counts.setdefault(row[0], {})[row[1]] = row[2]
            rows = conn.execute(
                select(s).where(s.c.project == self.key).order_by(s.c.sample_id)
            ).all()
        return [
            {
                "sample_id": r.sample_id,
                "description": r.description,
                "state": r.state,
                "cycles": r.cycles,
                "parent": parents.get(r.sample_id),
                "in_manifest": bool(r.in_manifest),
                "measurements": counts.get(r.sample_id, {}),
                "extra": json.loads(r.extra),
            }
            for r in rows
        ]

    def measurements(
        self, sample_id: str | None = None, *, technique: str | None = None, unlinked: bool = False
    ) -> list[dict[str, Any]]:
        """Measurements of the project, of one sample, or those linked to no sample."""
        s, m = schema.samples, schema.measurements
        q = select(m, s.c.sample_id).select_from(m.outerjoin(s)).where(m.c.project == self.key)
        if sample_id is not None:
            q = q.where(s.c.sample_id == self.resolve_sample(sample_id))
        if unlinked:
            q = q.where(m.c.sample.is_(None))
        if technique is not None:
            q = q.where(m.c.technique == technique)
        with self.engine.connect() as conn:
            rows = conn.execute(q.order_by(m.c.technique, m.c.path)).all()
        return [
            {
                "measurement_id": r.measurement_id,
                "sample_id": r.sample_id,
                "technique": r.technique,
                "path": r.path,
                "sha256": r.sha256,
                "size": r.size,
                "reader": r.reader,
                "reader_version": r.reader_version,
                "instrument": r.instrument,
                "conditions": json.loads(r.conditions),
                "link_reason": r.link_reason,
                "ingested_at": r.ingested_at,
            }
            for r in rows
        ]

    def show_sample(self, sample_id: str) -> dict[str, Any]:
        """Everything known about one sample: its manifest row, relations, measurements, results."""
        sid = self.resolve_sample(sample_id)
        info = next(r for r in self.list_samples() if r["sample_id"] == sid)
        with self.engine.connect() as conn:
            parents = self._parents(conn)
        info["children"] = sorted(k for k, v in parents.items() if v == sid)
        info["measurements"] = self.measurements(sid)
        info["results"] = self.results(sid)
        return info

    # -- results -------------------------------------------------------------------------

    def add_result(
        self,
        *,
        analysis: str,
        inputs: list[str],
        settings: dict[str, Any],
        parameters: dict[str, Any],
        result_file: str | PathLike[str] = "",
        sample_id: str | None = None,
        measurement_id: str | None = None,
    ) -> int:
        """Record a result, replacing one with the same analysis, settings and inputs.

        ``inputs`` are the SHA-256 of the input files; with the settings hash they key the
        result, so an unchanged input under unchanged settings need not be recomputed.
        """
        from ..core.provenance import settings_hash

        r, m = schema.results, schema.measurements
        key = {
            "project": self.key,
            "analysis": analysis,
            "settings_hash": settings_hash(settings),
            "inputs_hash": settings_hash(sorted(inputs)),
        }
        rf = str(result_file)
        if rf and Path(rf).is_absolute():
            rf = self.project.relative(rf)
        with self.transaction() as conn:
            sample = self._sample_pks(conn)[self.resolve_sample(sample_id)] if sample_id else None
            meas = None
            if measurement_id is not None:
                meas = conn.execute(
                    select(m.c.id).where(
                        m.c.project == self.key, m.c.measurement_id == measurement_id
                    )
                ).scalar()
                if meas is None:
                    raise CatalogError(f"unknown measurement ID {measurement_id!r}")
            conn.execute(delete(r).where(*[r.c[k] == v for k, v in key.items()]))
            res = conn.execute(
                insert(r).values(
                    **key,
                    sample=sample,
                    measurement=meas,
                    settings=json.dumps(settings, sort_keys=True, default=str),
                    inputs=json.dumps(sorted(inputs)),
                    parameters=json.dumps(parameters, sort_keys=True, default=str),
                    result_file=rf,
                    charact_version=charact_version(),
                    created_at=now_iso(),
                )
            )
            return int(res.inserted_primary_key[0])

    def results(
        self, sample_id: str | None = None, *, analysis: str | None = None
    ) -> list[dict[str, Any]]:
        """Stored results, optionally of one sample and/or one analysis."""
        r, s = schema.results, schema.samples
        q = select(r, s.c.sample_id).select_from(r.outerjoin(s)).where(r.c.project == self.key)
        if sample_id is not None:
            q = q.where(s.c.sample_id == sample_id)
        if analysis is not None:
            q = q.where(r.c.analysis == analysis)
        with self.engine.connect() as conn:
            rows = conn.execute(q.order_by(r.c.analysis, r.c.id)).all()
        return [
            {
                "analysis": row.analysis,
                "sample_id": row.sample_id,
                "settings_hash": row.settings_hash,
                "inputs": json.loads(row.inputs),
                "parameters": json.loads(row.parameters),
                "result_file": row.result_file,
                "charact_version": row.charact_version,
                "created_at": row.created_at,
            }
            for row in rows
        ]
