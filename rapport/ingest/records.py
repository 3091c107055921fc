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
_SLASHED = re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{2}|\d{4})$")
# Labels address books put on every contact; they carry no meaning as tags.
_NOISE_TAGS = {"mycontacts", "my contacts", "starred"}


def import_date(value: str) -> str:
    """Dates as exports write them, in ISO form: '12/9/1906' and '9.12.1906' both work.

    Outlook writes '0/0/00' for no date: that is empty. Day and month are told apart
    when one of them is over 12; otherwise slashes mean month/day (as in US exports)
    and dots mean day.month. Anything else is left for the validator to explain.
    """
    if re.fullmatch(r"--\d{2}-?\d{2}", value.strip()):
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

    @property
    def empty(self) -> bool:
        return not (self.data or self.external_id or self.external_ids or self.organization_name)

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
                value = import_date(value)
                if not value:
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
            label = entry.get("label", "")
            if ":::" in label:
                label = entry["label"] = label.split(":::")[0].strip()
            if label.startswith("* "):  # Google marks the primary value this way
                entry["label"] = label[2:].strip()
                entry["primary"] = "yes"
            position = len(rows)
            for part in entry:
                if part == "primary" or (kind, n, part) not in list_columns:
                    continue
                record.columns[f"{kind}[{position}].{part}"] = list_columns[(kind, n, part)]
            rows.append({k: (v == "yes" if k == "primary" else v) for k, v in entry.items()})
            for extra in more:
                record.columns[f"{kind}[{len(rows)}].{key_part}"] = list_columns[
                    (kind, n, key_part)
                ]
                rows.append({key_part: extra, "label": entry.get("label", "")})
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
