"""A person Rapport knows a lot about, through every area's own services: Zelda
Quillfeather, with a merged-away duplicate, a colleague who reports to her, mail with an
attachment (imported from an mbox file), notes, calls, tasks, a keep-in-touch cadence, an
imported CSV that updated her, a dismissed duplicate, a confirmation, and an archive of
her data kept on the server."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection, models

from rapport.access.models import User
from rapport.activity.mail import imports as mail_imports
from rapport.activity.services import interactions, keep_in_touch, tasks
from rapport.contacts import services as contacts
from rapport.contacts.models import Contact
from rapport.duplicates import services as duplicates
from rapport.ingest import services as ingest
from rapport.ingest.models import ImportBatch
from rapport.merges import services as merges
from rapport.quality import services as quality

NAME = "Zelda Quillfeather"
EMAIL = "zelda.quill@example.org"
OLD_EMAIL = "zq@old-mail.example"
PHONE = "+44 20 7946 0123"
E164 = "+442079460123"
# What must be found nowhere after an erasure (compared case-insensitively).
TRACES = ("zelda.quill", "zq@old-mail", "quillfeather", "2079460123", "7946 0123")

MBOX = f"""From zelda.quill@example.org Mon Mar  3 10:00:00 2025
From: {NAME} <{EMAIL}>
To: Bob Baker <bob@rapport.test>
Subject: My CV, as promised
Date: Mon, 3 Mar 2025 10:00:00 +0000
Message-ID: <cv-1@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8

Hello Bob, here is my CV. Call me on {PHONE}.
Zelda

--b1
Content-Type: text/plain; name="cv.txt"
Content-Disposition: attachment; filename="cv.txt"

{NAME}, born 1990, {EMAIL}
--b1--

From charles@analytical.example Tue Mar  4 09:00:00 2025
From: Charles Babbage <charles@analytical.example>
To: Bob Baker <bob@rapport.test>
Cc: {NAME} <{EMAIL}>
Subject: Meeting with Zelda Quillfeather
Date: Tue, 4 Mar 2025 09:00:00 +0000
Message-ID: <meet-2@analytical.example>

Bob, {NAME} and I will come on Friday.
Charles

From other@unrelated.example Wed Mar  5 09:00:00 2025
From: Olga Other <olga@unrelated.example>
To: Bob Baker <bob@rapport.test>
Subject: Unrelated
Date: Wed, 5 Mar 2025 09:00:00 +0000
Message-ID: <other-3@unrelated.example>

Nothing about anyone else.
"""

CSV = (
    "Name,E-mail,Phone,Company\n"
    f"{NAME},{EMAIL},{PHONE},Analytical Engines\n"
    "Ada Lovelace,ada@example.org,+44 20 7946 0958,Analytical Engines\n"
)
MAPPING = {
    "Name": "full_name",
    "E-mail": "emails[0].address",
    "Phone": "phones[0].number",
    "Company": "organization.name",
}


@dataclass
class World:
    zelda: Contact
    charles: Contact
    merged_away_id: int
    batch: ImportBatch
    alice: User
    bob: User


def run_import(
    actor: User, text: str | bytes, name: str = "people.csv", mapping: dict | None = MAPPING
) -> ImportBatch:
    data = text.encode() if isinstance(text, str) else text
    batch = ingest.import_upload(actor=actor, upload=io.BytesIO(data), file_name=name)
    ingest.import_configure(actor=actor, batch=batch, mapping=mapping)
    ingest.import_start(actor=actor, batch=batch)
    return ingest.import_run(batch_id=batch.pk)


@pytest.fixture
def world(alice, bob, django_capture_on_commit_callbacks) -> World:
    alice.email, bob.email = "alice@rapport.test", "bob@rapport.test"
    alice.save()
    bob.save()
    contacts.custom_field_create(
        actor=alice, data={"target": "contact", "label": "Shoe size", "field_type": "text"}
    )
    org = contacts.organization_create(actor=alice, data={"name": "Analytical Engines"})
    zelda = contacts.contact_create(
        actor=bob,
        data={
            "full_name": NAME,
            "emails": [{"address": EMAIL}],
            "addresses": [{"street": "1 Quill Lane", "locality": "Inkwell", "country": "GB"}],
            "urls": [{"url": "https://zelda-quillfeather.example"}],
            "external_ids": [{"source": "oldcrm", "id": "ZQ-77"}],
            "tags": ["VIP"],
            "custom_fields": {"shoe_size": "38 (Quillfeather family)"},
            "notes": "Met at <script>alert('x')</script> & the fair",
            "birthday": "1990-04-01",
            "job_title": "Chief Quill Officer",
        },
    )
    duplicate = contacts.contact_create(
        actor=bob,
        data={"full_name": "Zelda Q. Quillfeather", "emails": [{"address": OLD_EMAIL}]},
    )
    merges.contacts_merge(actor=alice, survivor_id=zelda.pk, merged_ids=[duplicate.pk])
    charles = contacts.contact_create(
        actor=bob,
        data={
            "full_name": "Charles Babbage",
            "emails": [{"address": "charles@analytical.example"}],
        },
    )
    contacts.affiliation_create(
        actor=bob, data={"contact": zelda.pk, "organization": org.pk, "title": "Head"}
    )
    contacts.affiliation_create(
        actor=bob,
        data={
            "contact": charles.pk,
            "organization": org.pk,
            "title": "Engineer",
            "reports_to": zelda.pk,
        },
    )
    namesake = contacts.contact_create(
        actor=bob,
        data={"full_name": "Zelda Quilfeather", "emails": [{"address": "zq@namesake.example"}]},
    )
    duplicates.contacts_not_duplicates(actor=bob, contact_ids=[zelda.pk, namesake.pk])
    quality.contact_verify(actor=bob, contact=Contact.objects.get(pk=zelda.pk))
    # mail: one message only with her (with an attachment), one with Charles too
    with django_capture_on_commit_callbacks(execute=True):
        mail_imports.mail_import_upload(
            actor=bob, upload=io.BytesIO(MBOX.encode()), file_name="bob.mbox"
        )
    interactions.interaction_create(
        actor=bob,
        data={
            "kind": "note",
            "body": f"Private thoughts about {NAME}",
            "private": True,
            "occurred_at": "2025-03-06T10:00:00Z",
            "participants": [{"contact_id": zelda.pk, "role": "subject"}],
        },
    )
    interactions.interaction_create(
        actor=bob,
        data={
            "kind": "call",
            "direction": "outbound",
            "outcome": "connected",
            "occurred_at": "2025-03-07T10:00:00Z",
            "participants": [{"phone": PHONE, "role": "callee"}],
        },
    )
    tasks.task_create(
        actor=bob, data={"title": "Send Zelda the contract", "contact_ids": [zelda.pk]}
    )
    tasks.task_create(
        actor=bob,
        data={
            "title": f"Lunch with {NAME} and Charles",
            "contact_ids": [zelda.pk, charles.pk],
        },
    )
    keep_in_touch.keep_in_touch_set(actor=bob, data={"contact_id": zelda.pk, "every_days": 30})
    # an import that updates her (adds her phone) and creates Ada
    batch = run_import(bob, CSV)
    assert batch.updated_count == 1 and batch.created_count == 1, batch.log
    # a score that gives her points (profiling)
    from rapport.segments import services as segment_services

    score = segment_services.score_create(
        actor=alice,
        data={
            "name": "Engagement",
            "rules": [{"kind": "match", "points": 5, "query": "has:email"}],
        },
    )
    segment_services.scores_refresh(score=score)
    return World(
        zelda=Contact.objects.get(pk=zelda.pk),
        charles=charles,
        merged_away_id=duplicate.pk,
        batch=batch,
        alice=alice,
        bob=bob,
    )


def database_texts() -> list[tuple[str, str]]:
    """Every text and JSON value in every table (model label, value), the search
    index mirrors on SQLite included."""
    found: list[tuple[str, str]] = []
    for model in apps.get_models(include_auto_created=True):
        fields = [
            f.attname
            for f in model._meta.concrete_fields
            if isinstance(
                f, models.CharField | models.TextField | models.JSONField | models.FileField
            )
        ]
        if not fields:
            continue
        for row in model._default_manager.values_list(*fields):
            for value in row:
                if value not in (None, "", [], {}):
                    text = (
                        value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                    )
                    found.append((model._meta.label, text))
    return found


def traces_in_database() -> list[tuple[str, str]]:
    return [
        (label, text[:200])
        for label, text in database_texts()
        if any(trace in text.casefold() for trace in TRACES)
    ]


def search_finds(text: str) -> list[int]:
    """Contacts the search index (FTS5 on SQLite, trigram index on PostgreSQL) finds."""
    from rapport.core import search

    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT rowid FROM contacts_contact_fts WHERE contacts_contact_fts MATCH %s",
                ['"' + text.casefold().replace('"', '""') + '"'],
            )
            return [row[0] for row in cursor.fetchall()]
    return search.matching_ids(Contact, search.parse(text), after_id=0, limit=100).ids


def traces_in_files() -> list[str]:
    root = Path(settings.MEDIA_ROOT)
    found = []
    for path in root.rglob("*") if root.exists() else []:
        if path.is_file():
            data = path.read_bytes().decode("utf-8", "replace").casefold()
            if any(trace in data for trace in TRACES):
                found.append(str(path.relative_to(root)))
    return found
