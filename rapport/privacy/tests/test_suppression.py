"""After an erasure, nobody brings the person back without new consent: not an import,
not the contact form, not the API; an admin may re-admit them, deliberately."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from rapport.contacts import services as contacts
from rapport.contacts.models import Contact, Email
from rapport.core.errors import NotAdmitted
from rapport.ingest.models import ImportRowError
from rapport.privacy import services
from rapport.privacy.models import Readmission, Suppression
from rapport.privacy.suppression import suppression_key
from rapport.privacy.tests.conftest import CSV, E164, EMAIL, NAME, PHONE, run_import

pytestmark = pytest.mark.django_db


@pytest.fixture
def erased(world):
    preview = services.erasure_preview(actor=world.alice, contact_id=world.zelda.pk)
    return services.contact_erase(
        actor=world.alice, contact_id=world.zelda.pk, confirmation=preview.confirmation
    )


def test_a_re_import_does_not_recreate_her_and_reports_the_row(world, erased):
    batch = run_import(world.bob, CSV + "Grace Hopper,grace@navy.example,,US Navy\n")
    assert batch.failed_count == 1 and batch.created_count == 1
    assert not Email.objects.filter(address_key=EMAIL).exists()
    assert not Contact.objects.filter(family_name="Quillfeather").exists()
    problem = ImportRowError.objects.get(batch=batch)
    assert problem.row_number == 2
    assert problem.reason.startswith(f"Suppressed (erased on {erased.at.date().isoformat()})")
    # the report keeps none of her values, nor does the stored file
    assert problem.value == "" and problem.row == []
    stored = batch.file.read().decode()
    assert EMAIL not in stored and NAME not in stored and "grace@navy.example" in stored
    assert any("emptied in the stored file" in entry["message"] for entry in batch.log)


def test_a_row_with_only_her_phone_number_is_refused_too_not_imported_without_it(world, erased):
    batch = run_import(world.bob, f"Name,E-mail,Phone,Company\nZ. Q.,,{PHONE},\n")
    assert batch.failed_count == 1 and batch.created_count == 0
    assert "Suppressed" in ImportRowError.objects.get(batch=batch).reason


def test_the_form_and_the_api_refuse_to_create_her_again(world, erased, bob_client):
    response = bob_client.post(
        "/contacts/new/",
        {"full_name": NAME, "emails-0-address": EMAIL, "create_anyway": "1"},
    )
    assert response.status_code == 422
    assert "Suppressed (erased on" in response.content.decode()
    response = bob_client.post(
        "/api/v1/contacts",
        json.dumps({"full_name": "Someone", "phones": [{"number": PHONE}]}),
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "phones[0].number"
    assert not Contact.objects.filter(phones__e164=E164).exists()


def test_adding_her_address_to_another_contact_is_refused(world, erased):
    with pytest.raises(NotAdmitted):
        contacts.contact_update(
            actor=world.bob, contact=world.charles, data={"emails": [{"address": EMAIL}]}
        )


def test_an_admin_re_admits_her_with_new_consent_and_that_is_logged(world, erased):
    with pytest.raises(CommandError, match="Say how the person gave their consent"):
        call_command("privacy", "readmit", "--email", EMAIL, "--consent", " ", "--as", "alice")
    err = io.StringIO()
    call_command(
        "privacy",
        "readmit",
        "--email",
        EMAIL.upper(),
        "--consent",
        "Signed form, 2 June",
        "--as",
        "alice",
        stderr=err,
    )
    assert "1 suppression entry removed" in err.getvalue()
    readmission = Readmission.objects.get()
    assert readmission.actor == world.alice and readmission.removed == 1
    assert EMAIL not in json.dumps(list(Readmission.objects.values()), default=str)
    contacts.contact_create(
        actor=world.bob, data={"full_name": NAME, "emails": [{"address": EMAIL}]}
    )
    # her number is still suppressed
    assert Suppression.objects.filter(kind="phone").count() == 1


def test_members_may_not_re_admit(world, erased):
    with pytest.raises(CommandError, match="permission"):
        call_command("privacy", "readmit", "--email", EMAIL, "--consent", "yes", "--as", "bob")
    assert Suppression.objects.count() == 3


def test_a_number_someone_else_also_has_is_not_suppressed(world):
    contacts.contact_update(
        actor=world.bob, contact=world.charles, data={"phones": [{"number": PHONE}]}
    )
    preview = services.erasure_preview(actor=world.alice, contact_id=world.zelda.pk)
    assert preview.suppress_phones == 0
    services.contact_erase(
        actor=world.alice, contact_id=world.zelda.pk, confirmation=preview.confirmation
    )
    assert Contact.objects.get(pk=world.charles.pk).phones.get().e164 == E164
    assert not Suppression.objects.filter(kind="phone").exists()


def test_the_key_comes_from_the_environment_or_a_file_and_a_derived_one_is_flagged(
    settings, tmp_path, monkeypatch
):
    from rapport.env import env_str

    secret = tmp_path / "key"
    secret.write_text("from-a-file\n")
    monkeypatch.delenv("RAPPORT_SUPPRESSION_KEY", raising=False)
    monkeypatch.setenv("RAPPORT_SUPPRESSION_KEY_FILE", str(secret))
    assert env_str("RAPPORT_SUPPRESSION_KEY") == "from-a-file"
    settings.RAPPORT_SUPPRESSION_KEY = "from-a-file"
    configured = suppression_key()
    assert configured.secret == b"from-a-file" and not configured.derived
    settings.RAPPORT_SUPPRESSION_KEY = ""
    derived = suppression_key()
    assert derived.derived and derived.key_id != configured.key_id
    from rapport.privacy.checks import suppression_key_check

    assert [w.id for w in suppression_key_check()] == ["privacy.W001"]


def test_the_suppression_page_checks_an_address_and_re_admits_with_consent(
    world, erased, alice_client, bob_client
):
    page = alice_client.get("/privacy/suppression/").content.decode()
    assert "3 entries: 2 email addresses, 1 phone number" in page
    checked = alice_client.post("/privacy/suppression/", {"email": EMAIL, "action": "lookup"})
    assert f"erased on {erased.at.date()}" in checked.content.decode()
    missing = alice_client.post("/privacy/suppression/", {"email": EMAIL, "action": "readmit"})
    assert missing.status_code == 422 and Suppression.objects.count() == 3
    done = alice_client.post(
        "/privacy/suppression/",
        {"email": EMAIL, "consent": "Double opt-in, 3 June", "action": "readmit"},
    )
    assert done.status_code == 302 and Suppression.objects.count() == 2
    assert bob_client.get("/privacy/suppression/").status_code == 403
