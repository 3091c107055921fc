"""Duplicate pages: the queue, one cluster side by side, decisions, scans."""

from __future__ import annotations

import pytest

from rapport.contacts.tests.factories import make_contact
from rapport.duplicates import services
from rapport.duplicates.models import DuplicateCluster, DuplicateScan


@pytest.fixture
def clusters(alice):
    """Two clusters: the Millers (more alike) and the Taylors."""
    make_contact(alice, given_name="Robert", family_name="Miller",
                 emails=[{"address": "robert.miller@gmail.com"}], job_title="CTO")  # fmt: skip
    make_contact(alice, given_name="Bob", family_name="Miller",
                 emails=[{"address": "robertmiller@gmail.com"}])  # fmt: skip
    make_contact(alice, given_name="Liz", family_name="Taylor",
                 phones=[{"number": "+44 20 7946 0958"}])  # fmt: skip
    make_contact(alice, given_name="Elizabeth", family_name="Taylor",
                 phones=[{"number": "020 7946 0958"}], addresses=[{"country": "GB"}])  # fmt: skip
    services.duplicates_scan_run(scan_id=services.duplicates_scan_create(actor=alice).pk)
    return list(DuplicateCluster.objects.order_by("-confidence", "id"))


def test_the_queue_lists_clusters_most_likely_first(alice_client, clusters):
    response = alice_client.get("/duplicates/")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.index("Robert Miller") < body.index("Elizabeth Taylor")
    assert "2 clusters to review" in body


def test_a_cluster_shows_the_contacts_side_by_side_with_differences_marked(alice_client, clusters):
    body = alice_client.get(f"/duplicates/{clusters[0].pk}/").content.decode()
    assert "Robert Miller" in body and "Bob Miller" in body
    assert 'class="dup-differs"' in body  # the given names and job titles differ
    assert "Why they were proposed" in body and "nickname" in body
    taylors = alice_client.get(f"/duplicates/{clusters[1].pk}/").content.decode()
    phones = taylors[taylors.index(">Phones") - 40 : taylors.index(">Phones")]
    assert "dup-differs" not in phones  # one number, written the same way for both
    assert 'data-key="n"' in body and 'data-key="s"' in body


def test_not_duplicates_moves_on_to_the_next_cluster(alice_client, clusters):
    response = alice_client.post(f"/duplicates/{clusters[0].pk}/dismiss/")
    assert response.status_code == 302
    assert response["Location"] == f"/duplicates/{clusters[1].pk}/"
    clusters[0].refresh_from_db()
    assert clusters[0].status == DuplicateCluster.Status.DISMISSED


def test_skipping_the_last_cluster_returns_to_the_queue(alice_client, clusters):
    alice_client.post(f"/duplicates/{clusters[0].pk}/dismiss/")
    response = alice_client.post(f"/duplicates/{clusters[1].pk}/skip/")
    assert response["Location"] == "/duplicates/"


def test_a_reader_sees_the_queue_but_cannot_decide(charlie_client, clusters):
    assert charlie_client.get(f"/duplicates/{clusters[0].pk}/").status_code == 200
    assert charlie_client.post(f"/duplicates/{clusters[0].pk}/dismiss/").status_code == 403
    assert charlie_client.post("/duplicates/scan/").status_code == 403


def test_starting_a_scan_from_the_page_runs_it(
    alice_client, clusters, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post("/duplicates/scan/")
    assert response.status_code == 302
    latest = DuplicateScan.objects.order_by("-id").first()
    assert latest.status == DuplicateScan.Status.DONE
    status = alice_client.get(f"/duplicates/scans/{latest.pk}/status/").content.decode()
    assert "2</strong> clusters" in status


def test_an_unknown_cluster_is_a_404(alice_client, db):
    assert alice_client.get("/duplicates/999/").status_code == 404


def test_merging_from_the_review_goes_on_to_the_next_cluster(alice_client, clusters):
    from rapport.duplicates import services as dup

    body = alice_client.get(f"/duplicates/{clusters[0].pk}/").content.decode()
    assert 'data-key="m"' in body and "Choose which values to keep" in body
    ids = sorted(dup.cluster_members(clusters[0]))
    response = alice_client.post(
        "/merges/contacts/",
        {"ids": ids, "survivor": ids[0], "confirm": "1",
         "next": f"/duplicates/{clusters[1].pk}/"},
    )  # fmt: skip
    assert response.status_code == 302
    assert response["Location"] == f"/duplicates/{clusters[1].pk}/"
    clusters[0].refresh_from_db()
    assert clusters[0].status == DuplicateCluster.Status.MERGED
    assert alice_client.get("/duplicates/").content.decode().count("dup-review") == 1


# -- the check at entry, in the contact form ----------------------------------------------


def _form(**overrides):
    data = {
        "full_name": "", "given_name": "Amazing", "family_name": "Grace",
        "lifecycle_stage": "lead", "emails-0-address": "grace.hopper@navy.example",
        "emails-0-label": "work", "emails-primary": "0", "phones-0-number": "",
    }  # fmt: skip
    data.update(overrides)
    return data


@pytest.fixture
def grace(alice):
    return make_contact(alice, given_name="Grace", family_name="Hopper",
                        emails=[{"address": "grace.hopper@navy.example"}],
                        job_title="Rear Admiral")  # fmt: skip


def test_creating_a_likely_duplicate_shows_it_first_and_saves_nothing(alice_client, grace):
    from rapport.contacts.models import Contact

    response = alice_client.post("/contacts/new/", _form(given_name="Grace", family_name="Hopper",
                                 **{"emails-0-address": "Grace.Hopper@navy.example"}))  # fmt: skip
    body = response.content.decode()
    assert response.status_code == 200
    assert "This may be someone you already have" in body
    assert "name: exact; email: same</span>" in body  # what agreed, nothing after the last
    assert f'name="merge_into" value="{grace.pk}"' in body and 'name="create_anyway"' in body
    assert Contact.objects.count() == 1


def test_create_anyway_saves_and_remembers_they_are_different(alice_client, grace):
    from rapport.contacts.models import Contact
    from rapport.duplicates.models import NotDuplicate

    response = alice_client.post("/contacts/new/", _form(
        given_name="Grace", family_name="Hopper", create_anyway="1",
        shown_duplicates=str(grace.pk)))  # fmt: skip
    assert response.status_code == 302
    new = Contact.objects.exclude(pk=grace.pk).get()
    assert NotDuplicate.objects.filter(contact_a=grace.pk, contact_b=new.pk).exists()


def test_merge_into_it_adds_what_was_typed_to_the_existing_contact(alice_client, grace):
    from rapport.contacts.models import Contact
    from rapport.merges.models import Merge

    response = alice_client.post("/contacts/new/", _form(
        given_name="Grace", family_name="Hopper", merge_into=str(grace.pk),
        **{"emails-1-address": "amazing@grace.example", "job_title": "Admiral"}))  # fmt: skip
    assert response.status_code == 302 and response["Location"] == f"/contacts/{grace.pk}/"
    grace.refresh_from_db()
    assert Contact.objects.count() == 1
    assert "amazing@grace.example" in set(grace.emails.values_list("address", flat=True))
    assert grace.job_title == "Rear Admiral"  # its own value stays
    assert Merge.objects.get().survivor_id == grace.pk


def test_an_edit_that_makes_a_duplicate_asks_before_saving(alice, alice_client, grace):
    other = make_contact(alice, given_name="Amazing", family_name="Grace",
                         emails=[{"address": "ag@example.org"}])  # fmt: skip
    post = _form(version=str(other.version), given_name="Grace", family_name="Hopper")
    response = alice_client.post(f"/contacts/{other.pk}/edit/", post)
    assert "Merge with it" in response.content.decode()
    other.refresh_from_db()
    assert other.given_name == "Amazing"
    saved = alice_client.post(f"/contacts/{other.pk}/edit/", {**post, "create_anyway": "1"})
    assert saved.status_code == 302
    other.refresh_from_db()
    assert other.given_name == "Grace"


def test_a_cluster_page_reads_its_contacts_without_a_query_per_contact(
    alice, alice_client, clusters, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as two:
        alice_client.get(f"/duplicates/{clusters[0].pk}/")
    make_contact(alice, given_name="Rob", family_name="Miller",
                 emails=[{"address": "robert.miller@gmail.com"}])  # fmt: skip
    services.duplicates_scan_run(scan_id=services.duplicates_scan_create(actor=alice).pk)
    three = DuplicateCluster.objects.filter(size=3).get()
    with django_assert_max_num_queries(len(two.captured_queries)):
        alice_client.get(f"/duplicates/{three.pk}/")


def test_the_comparison_shows_every_field_that_differs_and_the_merge_keeps_the_furthest_stage(
    alice_client, alice
):
    from rapport.contacts.models import Contact

    prospect = make_contact(alice, given_name="Robert", family_name="Miller",
                            emails=[{"address": "robert.miller@gmail.com"}],
                            lifecycle_stage="prospect", time_zone="Europe/Berlin",
                            language="de")  # fmt: skip
    lead = make_contact(alice, given_name="Robert", family_name="Miller",
                        emails=[{"address": "robert.miller@gmail.com"}],
                        lifecycle_stage="lead", time_zone="Europe/London",
                        language="en")  # fmt: skip
    services.duplicates_scan_run(scan_id=services.duplicates_scan_create(actor=alice).pk)
    cluster = DuplicateCluster.objects.get()
    body = alice_client.get(f"/duplicates/{cluster.pk}/").content.decode()
    for label in ("Lifecycle stage", "Time zone", "Language"):
        row = body[body.index(f">{label}") - 40 : body.index(f">{label}")]
        assert "dup-differs" in row, label
    stage = body[body.index(">Lifecycle stage") :]
    stage = stage[: stage.index("</tr>")]
    assert "Prospect" in stage and "Lead" in stage
    assert stage.index("Prospect") < stage.index("kept on merge") < stage.index("Lead") or (
        stage.index("Lead") < stage.index("Prospect") < stage.index("kept on merge")
    )
    # the one-key merge, as the page's M button sends it
    alice_client.post("/merges/contacts/", {"ids": [prospect.pk, lead.pk],
                      "survivor": prospect.pk, "confirm": "1"})  # fmt: skip
    merged = Contact.objects.get(pk=prospect.pk)
    assert merged.lifecycle_stage == "prospect"
    assert merged.time_zone == "Europe/London"  # the newest value where order means nothing
    assert not Contact.objects.filter(pk=lead.pk).exists()


def test_merging_from_a_cluster_goes_on_to_the_next_cluster_with_an_undo_link(
    alice_client, clusters
):
    page = alice_client.get(f"/duplicates/{clusters[0].pk}/").content.decode()
    ids = sorted({c for c in clusters[0].pairs.values_list("contact_a_id", "contact_b_id")[0]})
    assert f'name="next" value="/duplicates/{clusters[0].pk}/next/"' in page
    response = alice_client.post(
        "/merges/contacts/",
        {
            "ids": ids,
            "survivor": ids[0],
            "confirm": "1",
            "next": f"/duplicates/{clusters[0].pk}/next/",
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == f"/duplicates/{clusters[1].pk}/"
    body = response.content.decode()
    from rapport.contacts.models import Contact
    from rapport.merges.models import Merge

    merge_id = Merge.objects.get().pk
    assert f'<a href="/merges/{merge_id}/undo/">Undo merge #{merge_id}</a>' in body
    survivor = Contact.objects.get(pk=ids[0])
    assert f"Merged 1 record into {survivor.display_name}." in body
    assert alice_client.get(f"/merges/{merge_id}/undo/").status_code == 200


def test_a_decision_on_the_last_cluster_goes_back_to_an_earlier_open_one(alice_client, clusters):
    response = alice_client.post(f"/duplicates/{clusters[1].pk}/skip/")
    assert response["Location"] == f"/duplicates/{clusters[0].pk}/"


def test_a_rescan_keeps_the_review_links_of_clusters_it_finds_again(alice, alice_client, clusters):
    before = {c.pk for c in clusters}
    alice_client.post(f"/duplicates/{clusters[1].pk}/skip/")
    services.duplicates_scan_run(scan_id=services.duplicates_scan_create(actor=alice).pk)
    after = set(DuplicateCluster.objects.values_list("pk", flat=True))
    assert after == before
    assert alice_client.get(f"/duplicates/{clusters[1].pk}/").status_code == 200
    assert DuplicateCluster.objects.get(pk=clusters[1].pk).status == DuplicateCluster.Status.OPEN


def test_a_rescan_keeps_the_link_when_a_cluster_gains_a_contact(alice, alice_client, clusters):
    make_contact(alice, given_name="Robert", family_name="Miller",
                 emails=[{"address": "robert.miller@gmail.com"}])  # fmt: skip
    services.duplicates_scan_run(scan_id=services.duplicates_scan_create(actor=alice).pk)
    millers = DuplicateCluster.objects.get(pk=clusters[0].pk)
    assert millers.size == 3


def test_a_link_to_a_cluster_a_rescan_dropped_goes_on_to_the_next_one(
    alice, alice_client, clusters
):
    from rapport.contacts.models import Contact

    taylors = clusters[1]
    Contact.objects.filter(family_name="Taylor", given_name="Liz").update(family_name="Jones")
    Contact.objects.filter(given_name="Liz").update(given_name="Mary")
    from rapport.duplicates.services.keys import match_keys_refresh

    match_keys_refresh(contact_ids=list(Contact.objects.values_list("pk", flat=True)))
    services.duplicates_scan_run(scan_id=services.duplicates_scan_create(actor=alice).pk)
    assert not DuplicateCluster.objects.filter(pk=taylors.pk).exists()
    response = alice_client.get(f"/duplicates/{taylors.pk}/", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == f"/duplicates/{clusters[0].pk}/"
    assert "no longer proposed" in response.content.decode()
