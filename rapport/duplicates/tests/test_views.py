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
                 phones=[{"number": "+44 20 7946 0958"}])  # fmt: skip
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
