"""The import pipeline: read -> map -> validate -> stage, then write -> change report.

Rows stream through in chunks (memory stays flat for a million rows); every row of every
chunk is checked, and the writes that follow are planned into a private spool file. None
of that holds the store's write lock: reading a file can take minutes (a 1,000,000-row
XLSX took 86 s), and on GeoPackage the write lock is the only one, so sign-ins, edits and
audit-log writes all waited on it (issue 15). Only when every row has been checked does
one short transaction make the planned writes, after checking that the records of the
dataset are still those the plan was made against (else ImportConflict: nothing written).
The import either commits, or is rejected with every error listed (file, row, field,
message). With skip_invalid, valid rows land and the rejected ones are written to a file
with their reasons. A dry run does all of it but the write.

An import can be stopped between chunks (``cancelled``) and has limits (ImportLimits:
rows, vertices per geometry, seconds, memory); past one it stops with ImportStopped and
nothing is written.

Records are keyed by (dataset, external_id). A re-import compares each record's content
digest with the stored one and reports added / changed / unchanged / removed.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import pickle
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from mineaction.domain.models import ENTITIES
from mineaction.domain.rules import MAX_VERTICES
from mineaction.geo.countries import country_outline
from mineaction.io import keys
from mineaction.io.mapping import FieldRule, Mapping, MappingError, Target, identity_mapping
from mineaction.io.plausibility import ExpectedPlaces
from mineaction.io.readers import iter_table_chunks
from mineaction.io.stage import StagedKind, WriteOp, apply, plan_chunk
from mineaction.io.transform import (
    ROW,
    Mapped,
    Points,
    RowError,
    apply_rule,
    check,
    did_you_mean,
)
from mineaction.store import links
from mineaction.store.base import Store, WriteEvent
from mineaction.store.schema import METADATA

ProgressFn = Callable[[int], None]
CancelledFn = Callable[[], bool]
# Vertices one geometry may have unless the caller says otherwise: a 1,000,000-vertex
# polygon made every map load of its layer 28 MB (issue 15).
# The domain's cap (a setting may lower it for imports, never raise it).
DEFAULT_MAX_VERTICES = MAX_VERTICES


@dataclass(frozen=True)
class ImportLimits:
    """What one import may use; None is no limit. Checked between chunks (of up to
    `chunksize` rows), so a limit is noticed within a chunk of being passed."""

    max_rows: int | None = None
    max_vertices: int | None = DEFAULT_MAX_VERTICES
    # Records may belong to this organisation or to none (organisation scoping: an
    # editor imports for its own organisation only, issue 15, 9); None: any.
    organisation: str | None = None
    max_seconds: float | None = None
    max_memory_mb: int | None = None


class ImportStopped(Exception):
    """The import stopped before writing anything: cancelled, or past a limit."""


class ImportCancelled(ImportStopped):
    def __init__(self) -> None:
        super().__init__("the import was cancelled; nothing was imported")


class ImportLimitExceeded(ImportStopped):
    pass


class ImportConflict(Exception):
    """Records of the dataset changed between the plan and the write: nothing written."""


@dataclass
class Flag:
    """Imported, but worth a look: e.g. a point outside the country."""

    kind: str
    record_id: str
    row: int
    field: str
    message: str


@dataclass
class KindReport:
    kind: str
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    rejected: int = 0
    restored: int = 0  # of the added: deleted by an earlier import, in this file again
    kept_deleted: int = 0  # in the file, but deleted by a person: left deleted
    # Rows without ids matched to the stored records they revise (io/release.py): counted
    # among changed/unchanged; `review`: pairs a person must decide (both kept till then).
    matched: int = 0
    review: int = 0


@dataclass
class ImportReport:
    file: str
    mapping: str
    dataset: str
    dry_run: bool
    rows_read: int = 0
    kinds: dict[str, KindReport] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    committed: bool = False
    seconds: float = 0.0
    import_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    rejected_file: str | None = None
    deleted_missing: bool = False
    # Rows that no target of the mapping takes (its `when` conditions all failed).
    unmatched_rows: list[int] = field(default_factory=list)
    # The file rows rejected (a row with several errors, or several records, counts once).
    rejected_rows: set[int] = field(default_factory=set)

    def rejected_summary(self) -> str:
        """"N rows rejected; reasons in FILE", counting rows, not errors."""
        n = len(self.rejected_rows)
        where = f"; reasons in {self.rejected_file}" if self.rejected_file else ""
        return f"{n:,} row{'s' if n != 1 else ''} rejected{where}"

    def error_lines(self, limit: int | None = None) -> list[str]:
        name = Path(self.file).name
        errors = self.errors if limit is None else self.errors[:limit]
        return [e.describe(name) for e in errors]


class ImportRejected(Exception):
    """Nothing was written: the file has rows that fail validation."""

    def __init__(self, report: ImportReport) -> None:
        self.report = report
        n = len(report.errors)
        super().__init__(
            f"{Path(report.file).name}: {n} error{'s' if n != 1 else ''}; nothing was imported"
        )


class DeleteMissingRefused(Exception):
    """--delete-missing would delete more than half of a dataset's records: nothing written.

    Usually a new release whose keys all changed, or a file that covers only some years;
    `force=True` (`--force`) deletes them all the same."""

    def __init__(self, dataset: str, kinds: dict[str, tuple[int, int]]) -> None:
        self.dataset = dataset
        self.kinds = kinds  # kind -> (records that would be deleted, current records)
        detail = "; ".join(f"{n:,} of its {total:,} {kind} records"
                           for kind, (n, total) in kinds.items())
        super().__init__(
            f"--delete-missing would delete {detail} in dataset {dataset!r}: more than half, "
            "so nothing was imported. Usually the file is a new release whose keys all "
            "changed, or covers only some years; check it, and use --force to delete them "
            "all the same")


def _resident_mb() -> float | None:
    """This process's resident memory, MB (Linux), else its peak (other Unixes)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1_048_576
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1_048_576 if sys.platform == "darwin" else 1024)


class _Guard:
    """Stops an import that is cancelled or past one of its limits."""

    def __init__(self, limits: ImportLimits, cancelled: CancelledFn | None) -> None:
        self.limits = limits
        self.cancelled = cancelled
        self.started = time.monotonic()
        self.memory_at_start = _resident_mb() if limits.max_memory_mb else None

    def check(self, rows: int) -> None:
        if self.cancelled is not None and self.cancelled():
            raise ImportCancelled
        limits = self.limits
        if limits.max_rows is not None and rows > limits.max_rows:
            raise ImportLimitExceeded(f"the file has more than {limits.max_rows:,} rows, the "
                                      "most one import may have (import_max_rows); nothing "
                                      "was imported: split the file")
        if limits.max_seconds is not None \
                and time.monotonic() - self.started > limits.max_seconds:
            raise ImportLimitExceeded(f"the import took longer than {limits.max_seconds:g} s "
                                      "(import_max_seconds); nothing was imported")
        if limits.max_memory_mb is not None and self.memory_at_start is not None:
            now = _resident_mb()
            if now is not None and now - self.memory_at_start > limits.max_memory_mb:
                raise ImportLimitExceeded(
                    f"the import needed more than {limits.max_memory_mb:,} MB of memory "
                    "(import_max_memory_mb); nothing was imported: split the file")


class _Spool:
    """The planned writes, pickled to an unnamed temporary file (deleted on close; only
    this process can open it), so memory holds one chunk's writes, not the file's."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile(prefix="mineaction-import-")
        self.count = 0

    def add(self, op: WriteOp) -> None:
        pickle.dump(op, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self.count += 1

    def replay(self) -> Iterator[WriteOp]:
        self._file.flush()
        self._file.seek(0)
        for _ in range(self.count):
            op = pickle.load(self._file)  # noqa: S301 -- written by this process above
            assert isinstance(op, WriteOp)
            yield op

    def close(self) -> None:
        self._file.close()


def import_file(
    store: Store,
    path: str | Path,
    *,
    kind: str | None = None,
    mapping: Mapping | None = None,
    dataset: str | None = None,
    skip_invalid: bool = False,
    rejected_path: str | Path | None = None,
    dry_run: bool = False,
    status: str = "approved",
    delete_missing: bool = False,
    force: bool = False,
    user: str | None = None,
    chunksize: int = 100_000,
    progress: ProgressFn | None = None,
    layer: str | None = None,
    sheet: str | None = None,
    encoding: str | None = None,
    limits: ImportLimits | None = None,
    cancelled: CancelledFn | None = None,
    after_write: Callable[[Any], None] | None = None,
) -> ImportReport:
    """Import `path` all or nothing (see the module docstring). `after_write(conn)` runs in
    the import's transaction once its records are written, for what belongs with them
    (a field form submission's photos, io/submissions.py): if it raises, nothing is
    written."""
    path = Path(path)
    if mapping is None:
        if kind is None:
            raise MappingError("give --kind or a --mapping that names its kinds")
        mapping = identity_mapping(kind)
    limits = limits or ImportLimits()
    targets = mapping.targets_for(kind)
    dataset = dataset or mapping.dataset or path.stem
    report = ImportReport(file=str(path), mapping=mapping.name, dataset=dataset, dry_run=dry_run,
                          deleted_missing=delete_missing)
    started = time.perf_counter()
    guard = _Guard(limits, cancelled)
    outline = ExpectedPlaces(store, country_outline(mapping.country) if mapping.country else None)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    rejected_rows: list[pd.DataFrame] = []
    spool = _Spool()
    staged: dict[str, StagedKind] = {}
    missing_ids: dict[str, list[str]] = {}
    try:
        # 1. Read, map, validate and plan: no write lock is held.
        def stage_for(kind_name: str) -> StagedKind:
            if kind_name not in staged:
                with store.engine.connect() as conn:  # a short read, not a transaction
                    existing = store.existing_keys(conn, kind_name, dataset)
                staged[kind_name] = StagedKind(
                    kind=kind_name, existing=existing,
                    bookkeeping={"status": status, "version": 1, "created_at": stamp,
                                 "updated_at": stamp, "created_by": user,
                                 "updated_by": user},
                )
            return staged[kind_name]

        guard.check(0)
        for chunk in iter_table_chunks(path, chunksize=chunksize, layer=layer,
                                       sheet=sheet, encoding=encoding):
            if not report.rows_read:
                _check_columns(chunk, targets)
            report.rows_read += len(chunk)
            guard.check(report.rows_read)
            if all(t.when for t in targets):
                taken = np.zeros(len(chunk), bool)
                for t in targets:
                    taken |= _when_mask(chunk, t)
                report.unmatched_rows.extend(chunk[ROW].to_numpy()[~taken].tolist())
            for target in targets:
                rejected = _import_target(store, chunk, target, dataset, outline, stage_for,
                                          report, skip_invalid, spool.add, limits)
                if rejected is not None and len(rejected):
                    rejected_rows.append(rejected)
            if progress:
                progress(len(chunk))
            guard.check(report.rows_read)
        # In file order, whatever order the chunks and checks found them in.
        matches = _match_release(store, staged, spool, dataset, report)
        if matches is not None:
            spool = matches[1]
        kept = set().union(*(k.kept for k in matches[0].kinds.values())) if matches else set()
        with store.engine.connect() as conn:  # pairs still in review keep both records
            kept |= links.pending_release_records(conn, dataset)
        report.flags.sort(key=lambda f: (f.row, f.kind, f.field, f.message, f.record_id))
        for kind_name, stage in staged.items():
            missing = [ext for ext, known in stage.existing.items()
                       if ext not in stage.ids and known[3] is None and known[0] not in kept]
            stage.report.removed = len(missing)
            if delete_missing and missing:
                missing_ids[kind_name] = [stage.existing[e][0] for e in missing]
            report.kinds[kind_name] = stage.report
        if report.errors and not skip_invalid:
            raise ImportRejected(report)
        # More than half of a dataset deleted is rarely meant: refuse unless forced.
        current = {k: sum(known[3] is None for known in staged[k].existing.values())
                   for k in missing_ids}
        too_many = {k: (len(ids), current[k]) for k, ids in missing_ids.items()
                    if 2 * len(ids) > current[k]}
        if too_many and not force:
            raise DeleteMissingRefused(dataset, too_many)
        if dry_run:
            if skip_invalid and rejected_rows:
                report.rejected_file = str(_write_rejected(path, rejected_rows, rejected_path))
            return report
        # 2. Write what was planned, in one short transaction.
        guard.check(report.rows_read)
        with store.transaction() as conn:
            for kind_name, stage in staged.items():
                if store.existing_keys(conn, kind_name, dataset) != stage.existing:
                    raise ImportConflict(
                        f"records of dataset {dataset!r} ({kind_name}) changed while "
                        f"{path.name} was being checked; nothing was imported: run the "
                        "import again")
            for op in spool.replay():
                guard.check(report.rows_read)
                apply(store, conn, op)
            for kind_name, ids in missing_ids.items():
                store.delete_ids(conn, kind_name, ids, by=user)
            if after_write is not None:
                after_write(conn)
            if matches is not None:
                _record_matches(store, conn, matches[0], dataset, user)
            _record_run(conn, report, mapping, stamp)
            if mapping.source is not None:
                store.link_dataset_source(conn, report.dataset, _source_record(mapping))
            store.notify(conn, WriteEvent(
                "import", ",".join(report.kinds), None, None, user, summary={
                    "import_id": report.import_id, "file": path.name,
                    "dataset": report.dataset, "mapping": mapping.name,
                    "rows_read": report.rows_read,
                    "kinds": {k: vars(v) for k, v in report.kinds.items()}}))
            store.refresh_spatial_metadata(conn, list(staged))
            report.committed = True
        if mapping.country:
            # The country of the store's record codes (domain/codes.py), for P-codes
            # that do not name theirs, as a national register's do not.
            store.set_country(mapping.country, only_if_unset=True)
    finally:
        spool.close()
        report.seconds = time.perf_counter() - started
    if skip_invalid and rejected_rows and not dry_run:
        report.rejected_file = str(_write_rejected(path, rejected_rows, rejected_path))
    return report


def _import_target(
    store: Store,
    chunk: pd.DataFrame,
    target: Target,
    dataset: str,
    outline: ExpectedPlaces,
    stage_for: Callable[[str], StagedKind],
    report: ImportReport,
    skip_invalid: bool,
    emit: Callable[[WriteOp], None],
    limits: ImportLimits,
) -> pd.DataFrame | None:
    if target.when:
        chunk = chunk[_when_mask(chunk, target)]
    if not len(chunk):
        return None
    rows = chunk[ROW].to_numpy()
    bad_rows: set[int] = set()
    parent_of_row: np.ndarray | None = None
    parent_errors: list[RowError] = []
    if target.group is not None:
        group = target.group
        parent_ext = keys.group_keys(chunk, group.key)
        parent_of_row = parent_ext
        parent_stage = stage_for(group.kind)
        parent_stage.content_keyed = True  # keys from the group's columns
        first = ~pd.Series(parent_ext).duplicated().to_numpy()
        staged_ids, failed_before = parent_stage.ids, parent_stage.failed
        new = first & np.fromiter(
            (p not in staged_ids and p not in failed_before for p in parent_ext), bool,
            len(parent_ext))
        parents = _map(chunk[new], group.kind, group.fields, max_vertices=limits.max_vertices,
                       organisation=limits.organisation)
        parent_ids = parent_ext[new]
        parent_errors = parents.errors
        bad_parent_rows = parents.bad_rows()
        failed = {p for p, r in zip(parent_ids, parents.rows, strict=True)
                  if r in bad_parent_rows}
        parent_stage.failed.update(failed)
        ok = np.fromiter((p not in failed for p in parent_ids), bool, len(parent_ids))
        _stage(store, parents, ok, parent_ids, dataset, outline, parent_stage, report, emit)
        # Rows whose parent failed (now or in an earlier chunk) cannot land either.
        orphan = np.fromiter((p in parent_stage.failed for p in parent_ext), bool,
                             len(parent_ext))
        bad_rows |= set(rows[orphan].tolist())
    child = _map(chunk, target.kind, target.fields, target.external_id,
                 max_vertices=limits.max_vertices, organisation=limits.organisation)
    if target.group is not None and parent_of_row is not None:
        codes, uniques = pd.factorize(parent_of_row)
        known = stage_for(target.group.kind).ids
        linked = np.array([known.get(p) for p in uniques], dtype=object)
        child.values[target.group.link] = pd.Series(linked[codes], index=chunk.index,
                                                    dtype=object)
    stage = stage_for(target.kind)
    # Content keys are unique by construction; nothing links to these records.
    stage.remember_all = "external_id" in child.values
    if "external_id" in child.values:
        ext_ids = keys.explicit_keys(child.values.pop("external_id"))
        _check_explicit_keys(child, ext_ids, stage)
    else:
        stage.content_keyed = True
        link = target.group.link if target.group is not None else None
        ext_ids = keys.mapped_content_keys(
            child.values, len(chunk), stage.ordinals, parent_keys=parent_of_row,
            skip=(link,) if link else ())
    child.values.pop("dataset", None)
    errors = parent_errors + child.errors
    report.errors.extend(errors)
    bad_rows |= {e.row for e in errors}
    ok = ~np.isin(rows, list(bad_rows))
    stage.report.rejected += int((~ok).sum())
    report.rejected_rows.update(int(r) for r in rows[~ok])
    _stage(store, child, ok, ext_ids, dataset, outline, stage, report, emit)
    if skip_invalid and bad_rows:
        reasons: dict[int, list[str]] = {}
        for e in errors:
            reasons.setdefault(e.row, []).append(f"{e.field}: {e.message}")
        out = chunk[~ok].copy()
        out["rejection_reasons"] = [
            "; ".join(reasons.get(int(r), ["its parent record was rejected"]))
            for r in out[ROW]]
        return out
    return None


def _check_columns(chunk: pd.DataFrame, targets: list[Target]) -> None:
    """Refuse a file of which no column is one the mapping (or, without one, a field)
    names: a KoboToolbox export given without its mapping would make empty records."""
    present = [str(c) for c in chunk.columns if c != ROW]
    for target in targets:
        if target.fields or target.external_id is not None:
            wanted: set[str] = set(target.when)
            rules = [*target.fields.values(), *([target.external_id] if target.external_id
                                                else [])]
            if target.group is not None:
                wanted.update(target.group.key)
                rules.extend(target.group.fields.values())
            for rule in rules:
                wanted.update(rule.source_columns())
            if not wanted or wanted & set(present):
                continue
            named = ", ".join(f"column {c!r} is not in the file{did_you_mean(c, present)}"
                              for c in sorted(wanted))
            raise MappingError(
                f"no column that the mapping reads for {target.kind} is in the file: {named}"
                f"; the file has: {', '.join(present)}")
        if not _identity_rules(chunk, target.kind):
            fields = ", ".join(n for n in ENTITIES[target.kind].model_fields
                               if n not in ("id", "version", "source_ids"))
            raise MappingError(
                f"none of the file's columns is named like a field of {target.kind}, so "
                f"nothing would be imported: give a mapping (--mapping) that says which "
                f"column holds what; the file has: {', '.join(present)}; the fields are: "
                f"{fields}")


def _when_mask(chunk: pd.DataFrame, target: Target) -> np.ndarray:
    """Rows a target takes: those whose `when` columns hold one of the listed values."""
    mask = np.ones(len(chunk), bool)
    for column, allowed in target.when.items():
        if column not in chunk.columns:
            present = [str(c) for c in chunk.columns if c != ROW]
            raise MappingError(f"column {column!r} (in 'when') is not in the file"
                               f"{did_you_mean(column, present)}")
        mask &= chunk[column].astype("string").str.strip().isin(
            [str(a) for a in allowed]).fillna(False).to_numpy(bool)
    return mask


def _map(chunk: pd.DataFrame, kind: str, rules: dict[str, FieldRule],
         external_id: FieldRule | None = None, *,
         max_vertices: int | None = DEFAULT_MAX_VERTICES,
         organisation: str | None = None) -> Mapped:
    from mineaction.domain.columns import column, columns

    model = ENTITIES[kind]
    mapped = Mapped(kind=kind, rows=chunk[ROW].to_numpy())
    if not rules:
        rules = _identity_rules(chunk, kind)
    if external_id is not None:
        rules = {**rules, "external_id": external_id}
    for name, rule in rules.items():
        mapped.values[name] = apply_rule(chunk, name, rule, column(model, name), mapped)
    absent = [c.name for c in columns(model) if c.required and c.name not in mapped.values]
    if absent:
        shown = ", ".join(c for c in chunk.columns if c != ROW)
        raise MappingError(
            f"nothing gives the required field(s) {', '.join(absent)} of {kind}: map a column "
            f"to {'them' if len(absent) > 1 else 'it'} (the file has: {shown})")
    precision = mapped.values.pop("__date_precision__", None)
    if precision is not None and "date_precision" in model.model_fields:
        mapped.values.setdefault("date_precision", precision)
    capped, field_name = _cap_vertices(mapped, rules, max_vertices)
    _check_organisation(mapped, organisation)
    check(mapped)
    if capped:
        # The capped geometry is gone from the row: "is required" would say it twice.
        mapped.errors = [e for e in mapped.errors
                         if not (e.row in capped and e.field == field_name
                                 and e.message == "is required")]
    return mapped


def _check_organisation(mapped: Mapped, organisation: str | None) -> None:
    """Rows of another organisation than `organisation` are row errors (none: any)."""
    value = mapped.values.get("organisation_id")
    if organisation is None or value is None:
        return
    cells = value.to_numpy(dtype=object) if isinstance(value, pd.Series) \
        else np.asarray(value, dtype=object)
    for row, cell in zip(mapped.rows, cells, strict=True):
        if cell is not None and cell == cell and str(cell) != organisation:
            mapped.errors.append(RowError(int(row), "organisation_id", (
                f"{cell!r} is another organisation's; you may import records of your own "
                "organisation or of none")))


def _cap_vertices(mapped: Mapped, rules: dict[str, FieldRule],
                  max_vertices: int | None) -> tuple[set[int], str]:
    """Geometries of more than ``max_vertices`` vertices are row errors, and are dropped
    before any other check looks at them; returns the rows they were in."""
    from mineaction.domain.columns import geometry_column

    spec = geometry_column(ENTITIES[mapped.kind])
    if spec is None or max_vertices is None:
        return set(), ""
    name = spec.name
    value = mapped.values.get(name)
    if value is None or isinstance(value, Points):
        return set(), name
    cells = value.to_numpy(dtype=object) if isinstance(value, pd.Series) \
        else np.asarray(value, dtype=object)
    is_geometry = np.fromiter((isinstance(g, shapely.Geometry) for g in cells), bool,
                              len(cells))
    counts = np.zeros(len(cells), np.int64)
    if is_geometry.any():
        counts[is_geometry] = shapely.get_num_coordinates(cells[is_geometry])
    over = counts > max_vertices
    if not over.any():
        return set(), name
    rule = rules.get(name)
    column = rule.source if rule is not None and isinstance(rule.source, str) else None
    rows = mapped.rows[over]
    for row, n in zip(rows.tolist(), counts[over].tolist(), strict=True):
        mapped.errors.append(RowError(int(row), name, f"has {n:,} vertices; at most "
                                      f"{max_vertices:,} are accepted (import_max_vertices):"
                                      " simplify it first", column=column))
    cleared = cells.copy()
    cleared[over] = None
    mapped.values[name] = (pd.Series(cleared, index=value.index, dtype=object)
                                 if isinstance(value, pd.Series) else cleared)
    return set(rows.tolist()), name


def _check_explicit_keys(mapped: Mapped, ext_ids: np.ndarray, stage: StagedKind) -> None:
    """Keys taken from a column must be present and unique within the import."""
    first_row: dict[str, int] = {}
    for row, ext in zip(mapped.rows.tolist(), ext_ids.tolist(), strict=True):
        if ext is None:
            mapped.errors.append(RowError(row, "external_id", "is empty; the mapping takes "
                                          "record keys from this column"))
        elif ext in stage.ids or ext in first_row:
            mapped.errors.append(RowError(row, "external_id", f"{ext!r} appears more than "
                                          "once in the file", value=ext))
        else:
            first_row[ext] = row


def _identity_rules(chunk: pd.DataFrame, kind: str) -> dict[str, FieldRule]:
    """Columns named like the entity's fields map to them (e.g. our own exports)."""
    model = ENTITIES[kind]
    skip = {"id", "version", "source_ids", "created_at", "updated_at", "status"}
    rules = {name: FieldRule(source=name) for name in model.model_fields
             if name in chunk.columns and name not in skip}
    if "geometry" in model.model_fields and "geometry" not in rules:
        from mineaction.io.mapping import PointRule

        if {"longitude", "latitude"} <= set(chunk.columns):
            rules["geometry"] = FieldRule(point=PointRule(lat="latitude", lon="longitude"))
        elif "wkt" in chunk.columns:
            rules["geometry"] = FieldRule(source="wkt")
    return rules


def _stage(store: Store, mapped: Mapped, ok: np.ndarray, ext_ids: np.ndarray, dataset: str,
           outline: ExpectedPlaces, stage: StagedKind, report: ImportReport,
           emit: Callable[[WriteOp], None]) -> None:
    if not ok.any():
        return
    ids, written = plan_chunk(store, mapped, ok, ext_ids[ok], dataset, stage, emit)
    if outline is not None and written.any():
        # Only what this import wrote is checked: unchanged records were flagged before.
        fresh = ok.copy()
        fresh[ok] = written
        fresh_ids = [i for i, w in zip(ids, written, strict=True) if w]
        for row, rid, field_name, message in outline.flags(mapped, fresh, fresh_ids):
            report.flags.append(Flag(mapped.kind, rid, row, field_name, message))


def _match_release(store: Store, staged: dict[str, StagedKind], spool: _Spool, dataset: str,
                   report: ImportReport) -> tuple[Any, _Spool] | None:
    """Rows a later release revised, matched to the records they revise (io/release.py):
    the planned writes are rewritten so those records keep their ids and history. None when
    there is nothing to match (no content keys, a first import, nothing new or nothing
    gone)."""
    from mineaction.io import release

    keyed = {k for k, s in staged.items() if s.content_keyed}
    if not any(k in release.MATCHED_KINDS and staged[k].existing and staged[k].report.added
               for k in keyed):
        return None
    ops = list(spool.replay())
    matches = release.match_releases(store, staged, ops, keyed, dataset)
    if not matches.kinds:
        return None
    rewritten = _Spool()
    for op in release.rewrite(ops, matches, staged):
        rewritten.add(op)
    spool.close()
    remap = matches.remap()
    for kind, km in matches.kinds.items():
        k = staged[kind].report
        # A row in review is written (its record kept beside the one it may revise) but
        # not counted as added: it may be neither.
        k.added -= len(km.remap) + len(km.review)
        k.unchanged += len(km.rekey_only)
        k.changed += len(km.remap) - len(km.rekey_only)
        k.matched = len(km.remap)
        k.review = len(km.review)
    report.flags = [dataclasses.replace(f, record_id=remap.get(f.record_id, f.record_id))
                    for f in report.flags]
    return matches, rewritten


def _record_matches(store: Store, conn: Any, matches: Any, dataset: str,
                    user: str | None) -> None:
    """The review pairs (store/links.py) and each kind's run, thresholds and model."""
    from mineaction.io.release import LOWER, UPPER

    for kind, km in matches.kinds.items():
        run_id = links.record_run(conn, kind=kind, scope="release", datasets=[dataset],
                                  upper=UPPER, lower=LOWER, rule=None, model=km.model,
                                  counts=km.counts, by=user)
        if km.review:
            links.add_links(conn, [{**r, "run_id": run_id} for r in km.review])
            links.rebuild(store, conn, kind)


def _source_record(mapping: Mapping) -> Any:
    from mineaction.domain.models import Source

    info = mapping.source
    assert info is not None
    return Source(dataset="mapping-sources", external_id=mapping.name, status="approved",
                  source_kind=info.kind, title=info.title, reference=info.reference,
                  url=info.url, reliability=info.reliability, credibility=info.credibility)


def _record_run(conn: Any, report: ImportReport, mapping: Mapping, stamp: str) -> None:
    runs = METADATA.tables["import_runs"]
    totals: Counter[str] = Counter()
    for k in report.kinds.values():
        totals.update({"added": k.added, "changed": k.changed, "unchanged": k.unchanged,
                       "removed": k.removed, "rejected": k.rejected})
    conn.execute(runs.insert().values(
        id=report.import_id, kind=",".join(report.kinds), dataset=report.dataset,
        file_name=Path(report.file).name, mapping=mapping.name,
        started_at=datetime.fromisoformat(stamp.replace("Z", "+00:00")),
        finished_at=datetime.now(UTC), rows_read=report.rows_read, flagged=len(report.flags),
        **totals))
    if report.flags:
        flags = METADATA.tables["import_flags"]
        conn.execute(flags.insert(), [
            {"import_id": report.import_id, "record_kind": f.kind, "record_id": f.record_id,
             "row_number": f.row, "field": f.field, "message": f.message}
            for f in report.flags])


def _write_rejected(source: Path, frames: Iterable[pd.DataFrame], target: str | Path | None
                    ) -> Path:
    out = Path(target) if target else source.with_name(source.stem + ".rejected.csv")
    table = pd.concat(list(frames)).rename(columns={ROW: "source_row"})
    table = table.drop(columns=[c for c in ("geometry",) if c in table.columns])
    table.to_csv(out, index=False, quoting=csv.QUOTE_MINIMAL)
    return out
