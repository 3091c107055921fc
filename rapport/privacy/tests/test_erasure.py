"""Erasing a person: everything every area held about them goes, in one transaction,
and what remains is a log of counts and a suppression entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from rapport.activity.models import Interaction, Participant, Task
from rapport.contacts.models import Affiliation, Contact
from rapport.core.errors import InvalidInput, NotPermitted
from rapport.privacy import services
from rapport.privacy.models import ErasureLog, SubjectExport, Suppression
from rapport.privacy.suppression import digest
from rapport.privacy.tests.conftest import (
    E164,
    EMAIL,
    OLD_EMAIL,
    search_finds,
    traces_in_database,
    traces_in_files,
)

pytestmark = pytest.mark.django_db


def erase(world, actor=None, **kwargs):
    actor = actor or world.alice
    preview = services.erasure_preview(actor=actor, contact_id=world.zelda.pk)
    return services.contact_erase(
        actor=actor,
        contact_id=world.zelda.pk,
        confirmation=preview.confirmation,
        **kwargs,
    )


def test_the_world_holds_her_everywhere_before(world):
    assert traces_in_database()
    assert traces_in_files()
    assert search_finds("quillfeather") == [world.zelda.pk]


def test_erasure_leaves_no_trace_of_her_in_any_table_file_or_search_index(
    world, django_capture_on_commit_callbacks
):
    charles_interactions = set(
        Participant.objects.filter(contact=world.charles).values_list("interaction_id", flat=True)
    )
    with django_capture_on_commit_callbacks(execute=True):
        kept, _ = services.subject_export_start(
            actor=world.alice, contact_id=world.zelda.pk, background=True
        )
    archive = Path(SubjectExport.objects.get(pk=kept.pk).file.path)
    assert archive.exists()
    with django_capture_on_commit_callbacks(execute=True):
        log = erase(world, note="Asked by email, ticket 12")
    assert not archive.exists()
    assert SubjectExport.objects.get(pk=kept.pk).status == "removed"
    assert traces_in_database() == []
    assert traces_in_files() == []
    assert search_finds("quillfeather") == [] and search_finds("zelda.quill") == []
    assert not Contact.objects.filter(pk=world.zelda.pk).exists()
    # what others took part in stays, without her
    assert charles_interactions <= set(Interaction.objects.values_list("pk", flat=True))
    assert Task.objects.filter(title__startswith="Lunch with").exists()
    assert Affiliation.objects.get(contact=world.charles).reports_to is None
    # the log keeps numbers only, never her details
    log.refresh_from_db()
    assert log.contact_id == world.zelda.pk and log.merged_ids == [world.merged_away_id]
    assert log.counts["contacts"]["contact records"] == 1
    assert log.counts["activity"]["interactions only with them"] >= 2
    assert log.counts["ingest"]["rows in stored import files"] == 1
    assert log.counts["merges"]["merges of their records"] == 1
    assert log.counts["exports"]["stored export archives"] == 1
    assert log.actor == world.alice and log.note == "Asked by email, ticket 12"


def test_erasure_leaves_keyed_hashes_of_her_addresses_and_number(world):
    log = erase(world)
    assert log.suppressed == 3
    kept = set(Suppression.objects.values_list("digest", flat=True))
    assert {digest("email", EMAIL), digest("email", OLD_EMAIL), digest("phone", E164)} == kept
    assert all(s.erasure == log for s in Suppression.objects.all())


def test_a_forged_or_missing_confirmation_changes_nothing(world):
    before = len(traces_in_database())
    for confirmation in ("", "forged", erase.__name__):
        with pytest.raises(InvalidInput) as caught:
            services.contact_erase(
                actor=world.alice, contact_id=world.zelda.pk, confirmation=confirmation
            )
        assert caught.value.errors[0].path == "confirmation"
    other = services.erasure_preview(actor=world.alice, contact_id=world.charles.pk)
    with pytest.raises(InvalidInput, match="not valid"):
        services.contact_erase(
            actor=world.alice, contact_id=world.zelda.pk, confirmation=other.confirmation
        )
    assert len(traces_in_database()) == before
    assert not ErasureLog.objects.exists() and not Suppression.objects.exists()


def test_only_admins_erase(world):
    with pytest.raises(NotPermitted):
        services.erasure_preview(actor=world.bob, contact_id=world.zelda.pk)
    preview = services.erasure_preview(actor=world.alice, contact_id=world.zelda.pk)
    with pytest.raises(NotPermitted):
        services.contact_erase(
            actor=world.bob, contact_id=world.zelda.pk, confirmation=preview.confirmation
        )
    assert Contact.objects.filter(pk=world.zelda.pk).exists()
