"""What people read for a field's internal name: ``given_name`` → "Given name".

Every message and history entry that names a field goes through ``label_for``, so no
page, flash message or CLI line shows ``given_name:`` or a custom field's key. Areas
that own names of their own (custom fields are defined by users) register a source in
their ``AppConfig.ready()``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

GROUP_TITLES = {
    "emails": "Email",
    "phones": "Phone",
    "addresses": "Address",
    "urls": "Link",
    "external_ids": "ID elsewhere",
    "contact_ids": "Contact",
    "rules": "Rule",
}
LABELS = {
    "full_name": "Full name",
    "given_name": "Given name",
    "middle_name": "Middle name",
    "family_name": "Family name",
    "job_title": "Job title",
    "time_zone": "Time zone",
    "lifecycle_stage": "Lifecycle stage",
    "legal_name": "Legal name",
    "size_band": "Size",
    "start_date": "Start date",
    "end_date": "End date",
    "reports_to": "Reports to",
    "buying_role": "Buying role",
    "field_type": "Type",
    "help_text": "Help text",
    "created_after": "Created from",
    "created_before": "Created until",
    "updated_after": "Updated from",
    "updated_before": "Updated until",
    "urls": "Links",
    "external_ids": "IDs elsewhere",
    "custom_fields": "Custom fields",
    "contact_ids": "Contacts",
    "merged_into": "Merged into",
}

_ITEM = re.compile(r"^(?P<group>\w+)\[(?P<index>\d+)\](?:\.(?P<key>\w+))?$")
_CUSTOM = ("custom_fields.", "custom.", "choices.custom_fields.")

# (target, key) → the label a person gave the custom field, or None when unknown
CustomLabelSource = Callable[[str], str | None]
_custom_sources: list[CustomLabelSource] = []


def register_custom_label_source(source: CustomLabelSource) -> None:
    """Let an area name custom fields by their labels (called once, from ``ready()``)."""
    if source not in _custom_sources:
        _custom_sources.append(source)


def _plain(name: str) -> str:
    return LABELS.get(name, name.replace("_", " ").capitalize())


def custom_label(key: str) -> str:
    """A custom field's label as its definition gives it, else its key made readable."""
    for source in _custom_sources:
        found = source(key)
        if found:
            return found
    return key.replace("_", " ").capitalize()


def label_for(path: str) -> str:
    """A human name for a field or error path: ``emails[1].address`` → ``Email 2 ·
    address``, ``custom_fields.contract_value_eur`` → its label ("Contract value")."""
    for prefix in _CUSTOM:
        if path.startswith(prefix):
            key = path.removeprefix(prefix).split("__", 1)[0]
            return custom_label(key)
    match = _ITEM.match(path)
    if match and match["group"] in GROUP_TITLES:
        text = f"{GROUP_TITLES[match['group']]} {int(match['index']) + 1}"
        return f"{text} · {match['key'].replace('_', ' ')}" if match["key"] else text
    if match:
        return _plain(match["group"])
    if "." in path:
        head, _, tail = path.partition(".")
        return f"{_plain(head)} · {label_for(tail)}"
    return _plain(path)
