"""One row of a file, read through a mapping, as the contact data the services accept."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rapport.ingest.presets import implied_label

_INDEXED = re.compile(r"^(emails|phones|addresses|urls)\[(\d+)\]\.(\w+)$")
_TAG_SPLIT = re.compile(r"\s*(?:,|;|:::)\s*")
YEARLESS = re.compile(r"--(\d{2})-?(\d{2})")
_SLASHED = re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{2}|\d{4})$")
# Labels address books put on every contact; they carry no meaning as tags.
_NOISE_TAGS = {"mycontacts", "my contacts", "starred"}


def import_date(value: str) -> str:
    """Dates as exports write them, in ISO form: '12/9/1906' and '9.12.1906' both work.

    Outlook writes '0/0/00' for no date: that is empty. Day and month are told apart
    when one of them is over 12; otherwise slashes mean month/day (as in US exports)
    and dots mean day.month. Anything else is left for the validator to explain.
    """
    if YEARLESS.fullmatch(value.strip()):
        return ""  # a birthday without a year (vCard/Google): no full date to keep
    found = _SLASHED.match(value.strip())
    if not found:
        return value
    a, b, year = int(found.group(1)), int(found.group(2)), int(found.group(3))
    if a == 0 or b == 0:
        return ""
    if year < 100:
        year += 1900 if year > dt.date.today().year % 100 else 2000
    month, day = (a, b) if "/" in value and a <= 12 else (b, a)
    if month > 12:
        month, day = day, month
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return value


LIST_KEYS = ("emails", "phones", "addresses", "urls")


@dataclass
class RowRecord:
    """What a row says about one person, plus where each value came from."""

    data: dict[str, Any] = field(default_factory=dict)
    overwrite: set[str] = field(default_factory=set)
    external_id: str = ""
    # ids in other named systems: {source: id}
    external_ids: dict[str, str] = field(default_factory=dict)
    organization_name: str = ""
    organization_domain: str = ""
    title: str = ""
    department: str = ""
    # service field path ("emails[0].address") → the column it came from
    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)
    # Values left out of a row that is still imported: (column, value, reason)
    warnings: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.data or self.external_id or self.external_ids or self.organization_name)

    def warn(self, path: str, reason: str) -> None:
        """Note a value left out of a row that is imported (once per reason)."""
        column, value = self.column_for(path)
        if (column, value, reason) not in self.warnings:
            self.warnings.append((column, value, reason))

    def column_for(self, path: str) -> tuple[str, str]:
        """The column and cell behind a field path from a service error."""
        key = path
        while key:
            if key in self.columns:
                column = self.columns[key]
                return column, self.values.get(column, "")
            key = key.rpartition(".")[0] if "." in key else key.rpartition("[")[0]
        return "", ""


def build_record(
    mapping: Mapping[str, str], headers: Sequence[str], cells: Sequence[str]
) -> RowRecord:
    """Apply ``mapping`` (header → target) to one row's cells.

    Repeated targets keep the file's numbering but drop empty entries, so
    ``emails[0]`` empty and ``emails[1]`` filled gives one email.
    """
    record = RowRecord()
    lists: dict[str, dict[int, dict[str, str]]] = {key: {} for key in LIST_KEYS}
    list_columns: dict[tuple[str, int, str], str] = {}
    for index, header in enumerate(headers):
        target = (mapping.get(header) or "").strip()
        if not target:
            continue
        value = cells[index].strip() if index < len(cells) and cells[index] else ""
        if not value:
            continue
        record.values[header] = value
        overwrite = target.endswith("!")
        target = target.removesuffix("!")
        found = _INDEXED.match(target)
        if found:
            kind, n, part = found.group(1), int(found.group(2)), found.group(3)
            entry = lists[kind].setdefault(n, {})
            if part in ("address", "number", "url") and ":::" in value:
                # Google puts several values in one cell: "a@x.com ::: b@y.com".
                first, *more = [v.strip() for v in value.split(":::") if v.strip()]
                value = first
                entry["_more"] = more
            entry[part] = value
            list_columns[(kind, n, part)] = header
            if part in ("address", "number") and "label" not in entry:
                implied = implied_label(header)
                if implied:
                    entry.setdefault("_implied_label", implied)
            if overwrite:
                record.overwrite.add(kind)
            continue
        if target == "tags":
            tags = [t.removeprefix("* ").strip() for t in _TAG_SPLIT.split(value)]
            tags = [t for t in tags if t and t != "*" and t.casefold() not in _NOISE_TAGS]
            record.data.setdefault("tags", [])
            record.data["tags"] += [t for t in tags if t not in record.data["tags"]]
            record.columns["tags"] = header
        elif target == "external_id":
            record.external_id = value
            record.columns["external_ids"] = header
        elif target.startswith("external_id."):
            record.external_ids[target.split(".", 1)[1]] = value
            record.columns.setdefault("external_ids", header)
        elif target == "organization.name":
            record.organization_name = value
            record.columns["organization"] = header
        elif target == "organization.domain":
            record.organization_domain = value
            record.columns["organization.domain"] = header
        elif target == "affiliation.title":
            record.title = value
            record.columns["affiliation.title"] = header
        elif target == "affiliation.department":
            record.department = value
            record.columns["affiliation.department"] = header
        elif target.startswith("custom_fields."):
            key = target.split(".", 1)[1]
            record.data.setdefault("custom_fields", {})[key] = value
            record.columns[f"custom_fields.{key}"] = header
            if overwrite:
                record.overwrite.add(f"custom_fields.{key}")
        else:
            if target == "birthday":
                yearless = YEARLESS.fullmatch(value)
                value = import_date(value)
                if not value:
                    if yearless:
                        record.warnings.append(
                            (
                                header,
                                record.values[header],
                                f"The birthday {yearless.group(1)}-{yearless.group(2)} "
                                "(month-day) has no year; a birthday needs a full date, so "
                                "it was left out.",
                            )
                        )
                    continue
            record.data[target] = value
            record.columns[target] = header
            if overwrite:
                record.overwrite.add(target)
    main_part = {"emails": "address", "phones": "number", "addresses": None, "urls": "url"}
    for kind, entries in lists.items():
        rows = []
        for n in sorted(entries):
            entry = entries[n]
            key_part = main_part[kind]
            if key_part and not entry.get(key_part):
                continue
            if kind == "addresses" and not any(
                entry.get(p) for p in ("street", "locality", "region", "postcode", "country")
            ):
                continue
            implied = entry.pop("_implied_label", "")
            if implied and not entry.get("label"):
                entry["label"] = implied
            more = entry.pop("_more", [])
            # Google joins the labels of values in one cell the same way: "Work ::: Home"
            # labels "a ::: b" one each; a single label applies to them all.
            labels = [part.strip() for part in entry.get("label", "").split(":::")]
            more_labels = labels[1:] if len(labels) > 1 else labels * len(more)
            label = labels[0]
            if "label" in entry:
                entry["label"] = label
            if label.startswith("* "):  # Google marks the primary value this way
                entry["label"] = label[2:].strip()
                entry["primary"] = "yes"
            position = len(rows)
            for part in entry:
                if part == "primary" or (kind, n, part) not in list_columns:
                    continue
                record.columns[f"{kind}[{position}].{part}"] = list_columns[(kind, n, part)]
            rows.append({k: (v == "yes" if k == "primary" else v) for k, v in entry.items()})
            for index, extra in enumerate(more):
                record.columns[f"{kind}[{len(rows)}].{key_part}"] = list_columns[
                    (kind, n, key_part)
                ]
                extra_label = more_labels[index] if index < len(more_labels) else ""
                rows.append({key_part: extra, "label": extra_label.removeprefix("* ").strip()})
        if rows:
            record.data[kind] = rows
    return record


def row_external_ids(record: RowRecord, source: str) -> dict[str, str]:
    """Every id the row gives: its own (under the import's ``source``) and named ones."""
    ids = dict(record.external_ids)
    if record.external_id:
        ids[source] = record.external_id
    return ids


def contact_data(record: RowRecord, source: str) -> dict[str, Any]:
    """The row as input to the contact services, from the import's ``source``."""
    data = dict(record.data)
    data.setdefault("source", source)
    ids = row_external_ids(record, source)
    if ids:
        data["external_ids"] = [{"source": name, "id": value} for name, value in ids.items()]
    return data


# Values a person can be imported without: when one of them is invalid, the row is kept
# without it and the value is reported. Names and emails (what identifies someone and
# what rows are matched by) are not among them: a row with a bad one fails.
_OPTIONAL = re.compile(
    r"^(?:(?P<kind>phones|addresses|urls)\[(?P<n>\d+)\](?:\.(?P<part>\w+))?"
    r"|(?P<scalar>birthday|time_zone|language)"
    r"|custom_fields\.(?P<custom>\w+))$"
)
# An address keeps its other parts when one part is wrong; a phone or link goes whole.
_ADDRESS_PARTS = ("street", "locality", "region", "postcode", "country", "label")


def is_optional(path: str) -> bool:
    """True for an error path naming a value a row can be imported without."""
    return bool(_OPTIONAL.match(path))


def drop_optional(record: RowRecord, errors: Sequence[Any]) -> bool:
    """Leave out of ``record`` the optional values ``errors`` (FieldErrors) point at.

    Each value left out becomes a warning on the record (its column, value and the
    reason). Returns True when something was left out; nothing changes (and False is
    returned) when an error is about anything else.
    """
    if not errors or not all(is_optional(e.path) for e in errors):
        return False
    dropped_items: dict[str, set[int]] = {}
    for error in errors:
        column, value = record.column_for(error.path)
        found = _OPTIONAL.match(error.path)
        assert found is not None
        kind, n, part = found.group("kind"), found.group("n"), found.group("part")
        if kind == "addresses" and part in _ADDRESS_PARTS:
            address = record.data.get("addresses", [])[int(n)]
            address.pop(part, None)
            if not any(address.get(p) for p in _ADDRESS_PARTS[:5]):
                dropped_items.setdefault(kind, set()).add(int(n))
        elif kind:
            dropped_items.setdefault(kind, set()).add(int(n))
        elif found.group("scalar"):
            record.data.pop(found.group("scalar"), None)
        else:
            record.data.get("custom_fields", {}).pop(found.group("custom"), None)
        record.warnings.append(
            (column, value, f"{error.message} The value was left out; the rest was imported.")
        )
    for kind, indexes in dropped_items.items():
        items = record.data.get(kind, [])
        record.data[kind] = [item for i, item in enumerate(items) if i not in indexes]
        if not record.data[kind]:
            del record.data[kind]
        _renumber_columns(record, kind, indexes)
    return True


def _renumber_columns(record: RowRecord, kind: str, dropped: set[int]) -> None:
    """Field paths of ``kind`` pointed at their entries' new positions."""
    pattern = re.compile(rf"^{kind}\[(\d+)\](.*)$")
    kept: dict[str, str] = {}
    for path, column in record.columns.items():
        found = pattern.match(path)
        if not found:
            kept[path] = column
            continue
        n = int(found.group(1))
        if n in dropped:
            continue
        kept[f"{kind}[{n - sum(1 for d in dropped if d < n)}]{found.group(2)}"] = column
    record.columns = kept
