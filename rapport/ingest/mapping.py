"""Column mappings: which column of a file fills which contact field.

A mapping is ``{column header: target}``; a column mapped to ``""`` is ignored. The
targets are the public field paths of a contact, plus a few that the import engine
handles itself:

- names and scalars: ``full_name``, ``prefix``, ``given_name``, ``middle_name``,
  ``family_name``, ``suffix``, ``nickname``, ``job_title``, ``birthday``, ``notes``,
  ``time_zone``, ``language``, ``lifecycle_stage``, ``source``, ``owner``
- repeated values, N counting from 0: ``emails[N].address``, ``emails[N].label``,
  ``phones[N].number``, ``phones[N].label``, ``addresses[N].street``,
  ``addresses[N].locality``, ``addresses[N].region``, ``addresses[N].postcode``,
  ``addresses[N].country``, ``addresses[N].label``, ``urls[N].url``, ``urls[N].label``,
  ``urls[N].kind`` (website or social)
- ``tags`` (several tags in one cell, separated by commas or semicolons, or Google's
  " ::: ")
- ``custom_fields.<key>``
- ``external_id`` — the contact's id in the system the file came from (the batch's
  source name); ``external_id.<source>`` — an id in another named system (a Rapport
  export writes one such column per source)
- ``organization.name``, ``organization.domain``, ``affiliation.title``,
  ``affiliation.department`` — the organization is matched (by domain, then by
  normalised name) or created, and the person is affiliated with it

A target may carry ``!`` at the end (``job_title!``) to let the import overwrite a
non-empty value when updating an existing contact; without it, updates only fill what
is empty and add new emails, phones and tags.
"""

from __future__ import annotations

import re

SCALARS = (
    "full_name",
    "prefix",
    "given_name",
    "middle_name",
    "family_name",
    "suffix",
    "nickname",
    "job_title",
    "birthday",
    "notes",
    "time_zone",
    "language",
    "lifecycle_stage",
    "source",
    "owner",
)
SPECIAL = (
    "tags",
    "external_id",
    "organization.name",
    "organization.domain",
    "affiliation.title",
    "affiliation.department",
)
_REPEATED = re.compile(
    r"^(emails\[\d{1,2}\]\.(address|label)"
    r"|phones\[\d{1,2}\]\.(number|label)"
    r"|addresses\[\d{1,2}\]\.(street|locality|region|postcode|country|label)"
    r"|urls\[\d{1,2}\]\.(url|label|kind))$"
)
_CUSTOM = re.compile(r"^custom_fields\.[a-z][a-z0-9_]{0,49}$")
_EXTERNAL = re.compile(r"^external_id\.\S.{0,99}$")


def is_target(target: str) -> bool:
    """True for a target the engine understands (with or without the overwrite mark)."""
    bare = target.removesuffix("!")
    return bool(
        bare in SCALARS
        or bare in SPECIAL
        or _REPEATED.match(bare)
        or _CUSTOM.match(bare)
        or _EXTERNAL.match(bare)
    )


_GROUPS = (
    ("Name", ("full_name", "prefix", "given_name", "middle_name", "family_name", "suffix",
              "nickname")),
    ("Emails", ("emails[",)),
    ("Phones", ("phones[",)),
    ("Addresses", ("addresses[",)),
    ("Web", ("urls[",)),
    ("Organization", ("organization.", "affiliation.", "job_title")),
    ("Custom fields", ("custom_fields.",)),
    ("Ids", ("external_id", "external_id.")),
)  # fmt: skip


def grouped(choices: list[tuple[str, str]]) -> list[tuple[str, list[tuple[str, str]]]]:
    """``choices`` in labelled groups for the mapping step's select (``<optgroup>``), the
    "ignore" choice first and alone, whatever matches no group under "Other"."""
    groups: dict[str, list[tuple[str, str]]] = {"": []}
    for label, _ in _GROUPS:
        groups[label] = []
    groups["Other"] = []
    for value, text in choices:
        if not value:
            groups[""].append((value, text))
            continue
        for label, prefixes in _GROUPS:
            if value in prefixes or any(
                value.startswith(p) for p in prefixes if p.endswith(("[", "."))
            ):
                groups[label].append((value, text))
                break
        else:
            groups["Other"].append((value, text))
    return [(label, items) for label, items in groups.items() if items]


def target_choices() -> list[tuple[str, str]]:
    """Targets offered in the mapping step, with labels a person understands."""
    choices = [("", "— ignore this column —")]
    choices += [(name, name.replace("_", " ").capitalize()) for name in SCALARS]
    for n in range(3):
        choices += [
            (f"emails[{n}].address", f"Email {n + 1}"),
            (f"emails[{n}].label", f"Email {n + 1} label"),
            (f"phones[{n}].number", f"Phone {n + 1}"),
            (f"phones[{n}].label", f"Phone {n + 1} label"),
        ]
    for n in range(2):
        for part in ("street", "locality", "region", "postcode", "country", "label"):
            choices.append((f"addresses[{n}].{part}", f"Address {n + 1} {part}"))
        choices += [
            (f"urls[{n}].url", f"Website {n + 1}"),
            (f"urls[{n}].label", f"Website {n + 1} label"),
        ]
    choices += [
        ("tags", "Tags"),
        ("external_id", "Id in the source system"),
        ("organization.name", "Organization name"),
        ("organization.domain", "Organization domain"),
        ("affiliation.title", "Title at the organization"),
        ("affiliation.department", "Department"),
    ]
    return choices
