"""Every row of every table, so a test can compare the whole database before and after."""

from __future__ import annotations

from typing import Any

from django.apps import apps

from rapport.merges import rows

Dump = dict[str, dict[Any, dict[str, Any]]]

# Written by merges themselves: the record of the merge and its history entries.
MERGE_TABLES = {"merges.merge", "merges.redirect", "merges.retiredexternalid"}


def dump_database() -> Dump:
    """All tables (link tables included) as {model label: {primary key: every column}}."""
    result: Dump = {}
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.proxy or not meta.managed:
            continue
        pk = rows.pk_name(model)
        if getattr(model, "INDEX_OF_CONTACT", False):
            # rebuilt from the values, so compared by content, not row id
            # (an index row with no "key" is compared by its columns, apart from the copy
            # of the version it was computed from, which counts up with the record's)
            owner = next(f.attname for f in meta.concrete_fields if f.is_relation)
            names = [f.attname for f in meta.concrete_fields]
            if "key" in names:
                names = ["key"]
            names = [n for n in names if n not in (owner, "contact_version")]
            result[meta.label_lower] = {
                (v[owner], *(v[n] for n in names)): v
                for v in model._default_manager.values(owner, *names)
            }
            continue
        result[meta.label_lower] = {
            row[pk]: row
            for row in (
                rows.dump(model, v) for v in model._default_manager.values(*rows.columns(model))
            )
        }
    return result


def without_merge_records(dump: Dump) -> Dump:
    """The dump minus what merging adds by design: merge records and their history."""
    result = {name: table for name, table in dump.items() if name not in MERGE_TABLES}
    result["access.changerecord"] = {
        pk: row
        for pk, row in dump["access.changerecord"].items()
        if row["action"] not in ("merge", "unmerge")
    }
    return result


def differences(before: Dump, after: Dump) -> list[str]:
    """Readable differences, one per changed column, added or missing row."""
    found = []
    for table in sorted(set(before) | set(after)):
        old, new = before.get(table, {}), after.get(table, {})
        for pk in sorted(set(old) | set(new), key=str):
            if pk not in new:
                found.append(f"{table} #{pk} is missing: {old[pk]}")
            elif pk not in old:
                found.append(f"{table} #{pk} was added: {new[pk]}")
            else:
                for column in old[pk]:
                    if old[pk][column] != new[pk][column]:
                        found.append(
                            f"{table} #{pk}.{column}: {old[pk][column]!r} → {new[pk][column]!r}"
                        )
    return found
