"""Rapport on the benchmark: a fresh database, the CSV imported, ``rapport dedupe`` run.

``prepare_database`` makes the empty database (a SQLite file, or a new PostgreSQL
database on 127.0.0.1:5432 as bench/import_bench.py does) and points Django at it;
``load`` imports the CSV through Rapport's import service, every record as its own
contact carrying its record id as external id ``bench:<id>``; ``run_dedupe`` runs the
command and returns its pairs file; ``candidate_record_pairs`` gives the pairs the
duplicate finder's blocking would compare, as record ids. Django is set up in this
process, once.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.dedupe.evaluate import EXTERNAL_ID_SOURCE

POSTGRES = os.environ.get("RAPPORT_BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
POSTGRES_DATABASE = "rapport_dedupe_bench"
# The command under test and how it is told where to write its pairs.
DEDUPE_COMMAND = "dedupe"
DEDUPE_PAIRS_OPTION = "pairs_out"
# Decisions in the pairs file that say "these are the same person", per threshold.
AT_REVIEW = ("auto_merge", "review", "merged")
AT_AUTO_MERGE = ("auto_merge", "merged")


@dataclass
class LoadResult:
    """What the import made of the CSV."""

    created: int
    failed: int
    seconds: float
    loaded_record_ids: set[str]
    failures: list[str] = field(default_factory=list)  # a sample of reasons


def prepare_database(engine: str, directory: Path) -> str:
    """Create an empty database, point Django at it, migrate; returns its URL."""
    directory.mkdir(parents=True, exist_ok=True)
    if engine == "sqlite":
        path = directory / "rapport.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        import psycopg

        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {POSTGRES_DATABASE} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {POSTGRES_DATABASE}")
        url = f"{POSTGRES}/{POSTGRES_DATABASE}"
    os.environ["DATABASE_URL"] = url
    os.environ["RAPPORT_DATA_DIR"] = str(directory / "data")
    os.environ["RAPPORT_ADMIN_PASSWORD"] = "bench-password-1"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("setup", no_demo=True, verbosity=0)
    return url


def drop_database(engine: str) -> None:
    """Remove the PostgreSQL database (a SQLite file goes with its directory)."""
    from django.db import connections

    connections.close_all()
    if engine == "postgresql":
        import psycopg

        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {POSTGRES_DATABASE} WITH (FORCE)")


@contextlib.contextmanager
def _every_row_a_new_contact() -> Iterator[None]:
    """The import matching rows to contacts by external id only, for the length of the block.

    In every mode the import matches a row to an existing contact (or an earlier row)
    by external id, then by email, then by phone, and updates that contact instead of
    creating one: it would merge most of the benchmark's duplicates, and the household
    members on one landline, before the duplicate finder sees them. The benchmark
    measures the duplicate finder, so here each record becomes its own contact. The
    import has no option for this, so its matching (``_Run.match``) and the keys that
    send a row to the one-by-one path instead of the bulk path are narrowed to
    external ids.
    """
    from rapport.contacts.models import Contact, ExternalId
    from rapport.ingest import services
    from rapport.ingest.records import RowRecord, row_external_ids

    module: Any = services
    run_class: Any = services._Run
    originals = {
        "match": run_class.match,
        "existing_keys": run_class.existing_keys,
        "_draft_keys": module._draft_keys,
        "_raw_keys": module._raw_keys,
    }

    def ids_only(keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
        return {key for key in keys if key[0] == "id"}

    def match(self: Any, record: RowRecord) -> Contact | None:
        for source, value in row_external_ids(record, self.batch.source).items():
            found = ExternalId.objects.filter(source=source, value=value).first()
            if found:
                return Contact.objects.get(pk=found.contact_id)
        return None

    run_class.match = match
    run_class.existing_keys = lambda self, drafts: ids_only(
        originals["existing_keys"](self, drafts)
    )
    module._draft_keys = lambda draft: ids_only(originals["_draft_keys"](draft))
    module._raw_keys = lambda record, batch: ids_only(originals["_raw_keys"](record, batch))
    try:
        yield
    finally:
        run_class.match = originals["match"]
        run_class.existing_keys = originals["existing_keys"]
        module._draft_keys = originals["_draft_keys"]
        module._raw_keys = originals["_raw_keys"]


def load(csv_path: Path, record_id_column: str) -> LoadResult:
    """Import the CSV (mode "create"), its record-id column as external id ``bench:<id>``."""
    from rapport.access.models import User
    from rapport.contacts.models import ExternalId
    from rapport.ingest import services
    from rapport.ingest.models import ImportBatch

    actor = User.objects.get(username="admin")
    started = time.perf_counter()
    with csv_path.open("rb") as handle:
        batch = services.import_upload(
            actor=actor, upload=handle, file_name=csv_path.name, source=EXTERNAL_ID_SOURCE
        )
    mapping = dict(batch.mapping)
    mapping[record_id_column] = f"external_id.{EXTERNAL_ID_SOURCE}"
    batch = services.import_configure(
        actor=actor, batch=batch, mapping=mapping, mode=ImportBatch.Mode.CREATE
    )
    ImportBatch.objects.filter(pk=batch.pk).update(status=ImportBatch.Status.QUEUED)
    with _every_row_a_new_contact():
        batch = services.import_run(batch_id=batch.pk)
    seconds = time.perf_counter() - started
    if batch.status != ImportBatch.Status.DONE:
        raise RuntimeError(f"import {batch.pk} {batch.status}: {batch.error}")
    failures = [
        f"row {e.row_number}: {e.column + ': ' if e.column else ''}{e.reason}"
        for e in batch.row_errors.all()[:10]
    ]
    loaded = set(
        ExternalId.objects.filter(source=EXTERNAL_ID_SOURCE).values_list("value", flat=True)
    )
    return LoadResult(
        created=batch.created_count,
        failed=batch.failed_count,
        seconds=round(seconds, 1),
        loaded_record_ids=loaded,
        failures=failures,
    )


def dedupe_available() -> bool:
    """Whether this checkout has the ``rapport dedupe`` command."""
    from django.core.management import get_commands

    return DEDUPE_COMMAND in get_commands()


def run_dedupe(pairs_path: Path, *, quiet: bool = False) -> float:
    """Run ``rapport dedupe --pairs-out PAIRS`` (``--quiet``: no progress bars); returns
    the seconds it took."""
    from django.core.management import call_command

    started = time.perf_counter()
    options: dict[str, Any] = {DEDUPE_PAIRS_OPTION: str(pairs_path)}
    if quiet:
        options["quiet"] = True
    call_command(DEDUPE_COMMAND, **options)
    return round(time.perf_counter() - started, 1)


def candidate_record_pairs() -> list[tuple[str, str]]:
    """The pairs a full ``rapport dedupe`` scan's blocking generates, as record-id pairs.

    Reads every contact's features as a full scan does (``records.all_features``, in id
    order), calls ``scanning.candidate_pairs`` on them, and maps each pair's positions to
    the contacts' ``bench:<record id>`` external ids. Pairs come packed as
    ``a * n + b`` (positions a < b of n records).
    """
    from rapport.contacts.models import ExternalId
    from rapport.duplicates import records as features
    from rapport.duplicates.scanning import candidate_pairs

    people = [person for chunk in features.all_features() for person in chunk]
    found = candidate_pairs(people)
    packed = found[0] if isinstance(found, tuple) else found
    record_of = dict(
        ExternalId.objects.filter(source=EXTERNAL_ID_SOURCE).values_list("contact_id", "value")
    )
    ids = [record_of.get(person.id) for person in people]
    n = len(people)
    pairs: list[tuple[str, str]] = []
    for value in packed:
        a, b = divmod(value, n)
        first, second = ids[a], ids[b]
        if first and second:
            pairs.append((first, second))
    return pairs
