"""Keys kept current by the contact services, the check at entry, the bulk scan, decisions."""

from __future__ import annotations

import csv
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from rapport.contacts import services as contacts
from rapport.contacts.models import Contact
from rapport.contacts.tests.factories import make_contact
from rapport.core import jobs
from rapport.core.errors import InvalidInput, NotPermitted
from rapport.duplicates import services
from rapport.duplicates.models import DuplicateCluster, DuplicateScan, MatchKey, NotDuplicate


def keys_of(contact_id: int) -> set[str]:
    return set(MatchKey.objects.filter(contact_id=contact_id).values_list("key", flat=True))


@pytest.fixture
def robert(alice):
    return make_contact(
        alice,
        given_name="Robert",
        family_name="Miller",
        emails=[{"address": "robert.miller@gmail.com"}],
        phones=[{"number": "+1 415 555 0100"}],
    )


def test_contact_writes_keep_the_blocking_keys_current(alice, robert):
    assert "e:robertmiller@gmail.com" in keys_of(robert.pk)
    contacts.contact_update(
        actor=alice, contact=robert, data={"emails": [{"address": "bob@miller.example"}]}
    )
    assert "e:bob@miller.example" in keys_of(robert.pk)
    assert "e:robertmiller@gmail.com" not in keys_of(robert.pk)
    contacts.contact_delete(actor=alice, contact=robert)
    assert not keys_of(robert.pk)


def test_bulk_created_contacts_get_keys_too(alice):
    draft = contacts.contact_draft(
        actor=alice,
        data={"given_name": "Ana", "family_name": "Silva", "emails": [{"address": "ana@silva.pt"}]},
    )
    [cid] = contacts.contacts_create(actor=alice, drafts=[draft])
    assert "e:ana@silva.pt" in keys_of(cid)


def test_the_entry_check_finds_the_same_person_under_a_nickname(alice, robert):
    found = services.contact_duplicate_check(
        actor=alice,
        data={"given_name": "Bob", "family_name": "Miller",
              "emails": [{"address": "Robert.Miller+news@gmail.com"}]},
    )  # fmt: skip
    assert [c.contact_id for c in found] == [robert.pk]
    assert found[0].probability >= services.review_threshold()
    fields = {e["field"]: e["level"] for e in found[0].explanation}
    assert fields["name"] == "nickname" and fields["email"] == "same"


def test_the_entry_check_ignores_a_stranger_and_the_contact_being_edited(alice, robert):
    assert not services.contact_duplicate_check(
        actor=alice, data={"given_name": "Zofia", "family_name": "Nowak"}
    )
    assert not services.contact_duplicate_check(actor=alice, data={}, contact_id=robert.pk)


def test_the_entry_check_validates_its_input(alice):
    with pytest.raises(InvalidInput) as caught:
        services.contact_duplicate_check(
            actor=alice, data={"given_name": "X", "emails": [{"address": "not an email"}]}
        )
    assert caught.value.errors[0].path == "emails[0].address"


def test_the_entry_check_skips_pairs_a_reviewer_said_are_different(alice, robert):
    twin = make_contact(alice, given_name="Robert", family_name="Miller",
                        emails=[{"address": "robert.miller@gmail.com"}])  # fmt: skip
    assert services.contact_duplicate_check(actor=alice, data={}, contact_id=twin.pk)
    services.contacts_not_duplicates(actor=alice, contact_ids=[twin.pk, robert.pk])
    assert not services.contact_duplicate_check(actor=alice, data={}, contact_id=twin.pk)


def _people(alice):
    robert = make_contact(alice, given_name="Robert", family_name="Miller",
                          emails=[{"address": "robert.miller@gmail.com"}])  # fmt: skip
    bob = make_contact(alice, given_name="Bob", family_name="Miller",
                       emails=[{"address": "r.o.b.e.r.t.miller@gmail.com"}])  # fmt: skip
    others = [
        make_contact(alice, given_name=g, family_name=f)
        for g, f in [("Anna", "Kowalski"), ("Piotr", "Kowalski"), ("Wei", "Wang"), ("Li", "Na")]
    ]
    return robert, bob, others


def test_a_scan_proposes_the_duplicates_as_a_cluster(alice):
    robert, bob, _ = _people(alice)
    scan = services.duplicates_scan_create(actor=alice)
    done = services.duplicates_scan_run(scan_id=scan.pk)
    assert done.status == DuplicateScan.Status.DONE
    assert done.contacts == 6 and done.clusters_found == 1
    cluster = DuplicateCluster.objects.get()
    assert services.cluster_members(cluster) == {robert.pk, bob.pk}
    assert cluster.status == DuplicateCluster.Status.OPEN


def test_a_scan_taken_over_from_a_paused_worker_is_left_to_the_new_one(alice, settings):
    settings.RAPPORT_JOB_STALE_SECONDS = 60
    robert, bob, _ = _people(alice)
    scan = services.duplicates_scan_create(actor=alice)
    reported = []

    def paused(phase: str, done: int, total: int) -> None:
        reported.append(phase)
        if len(reported) == 1:  # the first worker stops here for longer than the stale period
            DuplicateScan.objects.filter(pk=scan.pk).update(
                heartbeat_at=timezone.now() - timedelta(hours=1)
            )
            services.duplicates_scan_run(scan_id=scan.pk)  # a second worker takes it over

    with pytest.raises(jobs.ClaimLost):
        services.duplicates_scan_run(scan_id=scan.pk, progress=paused)
    assert reported == ["reading"], "the first worker stopped at its next write"
    scan.refresh_from_db()
    assert (scan.status, scan.phase, scan.clusters_found) == (DuplicateScan.Status.DONE, "", 1)
    assert scan.done == scan.total == scan.contacts == 6
    cluster = DuplicateCluster.objects.get()
    assert services.cluster_members(cluster) == {robert.pk, bob.pk}
    assert cluster.scan_id == scan.pk


def test_a_dismissed_cluster_is_never_proposed_again(alice):
    robert, bob, _ = _people(alice)
    services.duplicates_scan_run(scan_id=services.duplicates_scan_create(actor=alice).pk)
    cluster = DuplicateCluster.objects.get()
    services.cluster_dismiss(actor=alice, cluster_id=cluster.pk)
    assert NotDuplicate.objects.filter(contact_a=robert.pk, contact_b=bob.pk).exists()
    again = services.duplicates_scan_run(scan_id=services.duplicates_scan_create(actor=alice).pk)
    assert again.clusters_found == 0
    assert DuplicateCluster.objects.get().status == DuplicateCluster.Status.DISMISSED


def test_a_batch_scan_compares_the_batch_with_everyone(alice):
    robert, _bob, _ = _people(alice)
    with pytest.raises(InvalidInput):
        services.duplicates_scan_create(actor=alice, scope="batch", detail={"batch": 999})
    with pytest.raises(NotPermitted):
        services.duplicates_scan_create(actor=None)


def test_dedupe_writes_every_pair_with_external_ids(alice, tmp_path):
    robert, bob, _ = _people(alice)
    contacts.contact_update(
        actor=alice, contact=robert, data={"external_ids": [{"source": "crm", "id": "R-1"}]}
    )
    out = tmp_path / "pairs.csv"
    stdout = StringIO()
    call_command("dedupe", "--as", "alice", "--quiet", "--pairs-out", str(out), stdout=stdout)
    assert "1 clusters" in stdout.getvalue()
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 1
    row = rows[0]
    assert {int(row["contact_a"]), int(row["contact_b"])} == {robert.pk, bob.pk}
    assert "crm:R-1" in (row["external_ids_a"] + row["external_ids_b"])
    assert float(row["probability"]) >= services.review_threshold()
    assert row["decision"] in ("review", "auto_merge")


def test_dedupe_names_a_batch_that_does_not_exist(alice):
    with pytest.raises(CommandError, match="Batch: No such import batch"):
        call_command("dedupe", "--as", "alice", "--batch", "12345", stdout=StringIO())


def test_an_import_flags_likely_duplicates_for_review(bob, django_capture_on_commit_callbacks):
    import io

    from rapport.ingest import services as imports

    existing = make_contact(bob, given_name="Elizabeth", family_name="Taylor",
                            emails=[{"address": "liz.taylor@acme.example"}])  # fmt: skip
    text = "Name,Email\nLiz Taylor,liz.taylor@gmail.com\nZofia Nowak,zofia@nowak.example\n"
    batch = imports.import_upload(
        actor=bob, upload=io.BytesIO(text.encode()), file_name="people.csv", source="Phone"
    )
    batch = imports.import_configure(
        actor=bob, batch=batch, mapping={"Name": "full_name", "Email": "emails[0].address"},
        mode="create",
    )  # fmt: skip
    imports.import_start(actor=bob, batch=batch)
    with django_capture_on_commit_callbacks(execute=True):
        done = imports.import_run(batch_id=batch.pk)
    assert done.created_count == 2
    [cluster] = DuplicateCluster.objects.all()
    liz = Contact.objects.get(emails__address="liz.taylor@gmail.com")
    assert services.cluster_members(cluster) == {existing.pk, liz.pk}
    done.refresh_from_db()
    assert any("duplicates" in str(line) for line in done.log)


def test_merging_a_cluster_closes_it_and_unmerging_restores_keys_and_decisions(alice):
    from rapport.merges import services as merges
    from rapport.merges.tests.dump import differences, dump_database, without_merge_records

    robert, bob, others = _people(alice)
    services.contacts_not_duplicates(actor=alice, contact_ids=[bob.pk, others[0].pk])
    services.duplicates_scan_run(scan_id=services.duplicates_scan_create(actor=alice).pk)
    cluster = DuplicateCluster.objects.get(status=DuplicateCluster.Status.OPEN)
    before = dump_database()
    merge = merges.contacts_merge(actor=alice, survivor_id=robert.pk, merged_ids=[bob.pk])
    cluster.refresh_from_db()
    assert cluster.status == DuplicateCluster.Status.MERGED
    assert "n:MLR|RBRT" in keys_of(robert.pk) and not keys_of(bob.pk)
    merges.merge_undo(actor=alice, merge_id=merge.pk)
    after = dump_database()
    changed = [
        d
        for d in differences(without_merge_records(before), without_merge_records(after))
        if not d.startswith(f"contacts.contact #{robert.pk}.")  # its version counts on
        and not d.startswith(f"duplicates.duplicatecluster #{cluster.pk}.")  # decided
    ]
    assert changed == []
    assert "e:robertmiller@gmail.com" in keys_of(bob.pk)  # the keys table is compared too
    assert NotDuplicate.objects.filter(contact_a=bob.pk, contact_b=others[0].pk).exists()


def test_auto_merge_is_off_by_default_and_merges_only_above_its_threshold(alice, settings):
    robert, bob, others = _people(alice)
    scan = services.duplicates_scan_run(scan_id=services.duplicates_scan_create(actor=alice).pk)
    assert scan.auto_merged == 0 and Contact.objects.filter(pk=bob.pk).exists()
    settings.RAPPORT_DUPLICATE_AUTO_MERGE = True
    settings.RAPPORT_DUPLICATE_AUTO_MERGE_THRESHOLD = 0.999999999
    scan = services.duplicates_scan_run(scan_id=services.duplicates_scan_create(actor=alice).pk)
    assert scan.auto_merged == 0  # the pair is likely, but not that likely
    settings.RAPPORT_DUPLICATE_AUTO_MERGE_THRESHOLD = 0.9
    scan = services.duplicates_scan_run(scan_id=services.duplicates_scan_create(actor=alice).pk)
    assert scan.auto_merged == 1
    assert not Contact.objects.filter(pk=bob.pk).exists()
    assert DuplicateCluster.objects.get(scan=scan).status == DuplicateCluster.Status.MERGED


def test_the_quality_score_counts_likely_duplicates_until_they_are_decided(alice):
    from rapport.quality import rules
    from rapport.quality import services as quality
    from rapport.quality.models import ContactQuality

    robert, bob, others = _people(alice)
    quality.quality_refresh(full=True)

    def flagged() -> set[int]:
        return {
            q.contact_id for q in ContactQuality.objects.all() if q.facts & rules.Fact.DUPLICATE
        }

    assert flagged() == set()
    services.duplicates_scan_run(scan_id=services.duplicates_scan_create(actor=alice).pk)
    assert flagged() == {robert.pk, bob.pk}
    quality.quality_refresh(contact_ids=[robert.pk], force=True)  # survives a recompute
    assert flagged() == {robert.pk, bob.pk}
    services.cluster_dismiss(actor=alice, cluster_id=DuplicateCluster.objects.get().pk)
    assert flagged() == set()
