"""A re-import after a merge finds the survivor, also by the merged contact's old id."""

from __future__ import annotations

import io

from rapport.contacts.models import Contact
from rapport.contacts.tests.factories import make_contact
from rapport.ingest import services as imports
from rapport.merges import services


def _import(actor, text: str):
    batch = imports.import_upload(
        actor=actor, upload=io.BytesIO(text.encode()), file_name="crm.csv", source="crm"
    )
    batch = imports.import_configure(
        actor=actor, batch=batch, mode="upsert",
        mapping={"Id": "external_id", "Name": "full_name", "Notes": "notes"},
    )  # fmt: skip
    imports.import_start(actor=actor, batch=batch)
    return imports.import_run(batch_id=batch.pk)


def test_a_retired_external_id_still_leads_to_the_survivor(alice):
    ada = make_contact(alice, given_name="Ada", family_name="Lovelace",
                       external_ids=[{"source": "crm", "id": "C-1"}])  # fmt: skip
    dup = make_contact(alice, given_name="Ada", family_name="King",
                       external_ids=[{"source": "crm", "id": "C-2"}])  # fmt: skip
    services.contacts_merge(actor=alice, survivor_id=ada.pk, merged_ids=[dup.pk])
    done = _import(alice, "Id,Name,Notes\nC-2,Ada King,Seen at the expo\n")
    assert done.created_count == 0 and done.updated_count == 1
    assert Contact.objects.count() == 1
    assert Contact.objects.get().notes == "Seen at the expo"
