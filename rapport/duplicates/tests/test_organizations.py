"""Organizations: matched on domain, name, address and phone; at entry and in scans."""

from __future__ import annotations

import json

from rapport.conftest import bearer
from rapport.contacts.tests.factories import make_organization
from rapport.duplicates import services
from rapport.duplicates.matching.organizations import organization_features, organization_score
from rapport.duplicates.models import DuplicateCluster


def score(a: dict, b: dict) -> float:
    return organization_score(organization_features(**a), organization_features(**b))[0]


def test_names_match_without_legal_form_punctuation_and_ampersand():
    assert score({"name": "Smith & Sons, Inc."}, {"name": "Smith and Sons"}) >= 0.5
    assert score({"name": "Müller GmbH"}, {"name": "MULLER"}) >= 0.5
    assert score({"name": "Smith & Sons"}, {"name": "Jones Brothers"}) < 0.01


def test_a_shared_domain_or_phone_makes_a_near_certain_match():
    a = {"name": "Acme Corporation", "domains": ["acme.example"]}
    b = {"name": "ACME Corp.", "website": "https://www.acme.example/about"}
    assert score(a, b) > 0.99
    c = {"name": "Acme Widgets", "phones": ["+14155550100"]}
    d = {"name": "Acme Widgets Ltd", "phones": ["+14155550100"]}
    assert score(c, d) > 0.99


def test_the_same_name_at_different_domains_is_doubtful():
    a = {"name": "Summit Partners", "domains": ["summit.example"]}
    b = {"name": "Summit Partners", "domains": ["summit-partners.example"]}
    assert score(a, b) < 0.5


def test_creating_a_likely_duplicate_organization_is_reported_or_refused(client, alice):
    acme = make_organization(alice, name="Acme Corporation", domains=["acme.example"])
    body = {"name": "ACME Corp", "domains": ["acme.example"]}
    refused = client.post("/api/v1/organizations?on_duplicate=reject", json.dumps(body),
                          content_type="application/json", **bearer(alice))  # fmt: skip
    assert refused.status_code == 409
    assert refused.json()["duplicates"][0]["organization_id"] == acme.pk
    made = client.post("/api/v1/organizations", json.dumps(body),
                       content_type="application/json", **bearer(alice))  # fmt: skip
    assert made.status_code == 201 and made.json()["duplicates"][0]["organization_id"] == acme.pk


def test_the_organization_form_asks_before_creating_a_likely_duplicate(alice_client, alice):
    from rapport.contacts.models import Organization

    make_organization(alice, name="Globex Holdings AG", domains=["globex.example"])
    response = alice_client.post(
        "/organizations/new/", {"name": "Globex", "domains": "globex.example"}
    )
    assert "This may be an organization you already have" in response.content.decode()
    assert Organization.objects.count() == 1
    alice_client.post("/organizations/new/",
                      {"name": "Globex", "domains": "globex.example", "create_anyway": "1"})  # fmt: skip
    assert Organization.objects.count() == 2


def test_a_scan_proposes_organization_clusters_and_merging_closes_them(alice, alice_client):
    from rapport.merges import services as merges

    a = make_organization(alice, name="Initech LLC", domains=["initech.example"])
    b = make_organization(alice, name="Initech", domains=["initech.example"])
    make_organization(alice, name="Umbrella", domains=["umbrella.example"])
    services.duplicates_scan_run(scan_id=services.duplicates_scan_create(actor=alice).pk)
    cluster = DuplicateCluster.objects.get(kind=DuplicateCluster.Kind.ORGANIZATION)
    assert services.cluster_members(cluster) == {a.pk, b.pk}
    page = alice_client.get(f"/duplicates/{cluster.pk}/").content.decode()
    assert "Initech LLC" in page and "likely the same one" in page
    merges.organizations_merge(actor=alice, survivor_id=a.pk, merged_ids=[b.pk])
    cluster.refresh_from_db()
    assert cluster.status == DuplicateCluster.Status.MERGED


def test_a_dismissed_organization_cluster_is_not_proposed_again(alice):
    make_organization(alice, name="Hooli", domains=["hooli.example"])
    make_organization(alice, name="Hooli Inc", domains=["hooli.example"])
    services.duplicates_scan_run(scan_id=services.duplicates_scan_create(actor=alice).pk)
    cluster = DuplicateCluster.objects.get(kind=DuplicateCluster.Kind.ORGANIZATION)
    services.cluster_dismiss(actor=alice, cluster_id=cluster.pk)
    again = services.duplicates_scan_run(scan_id=services.duplicates_scan_create(actor=alice).pk)
    assert again.clusters_found == 0


def test_without_domains_a_mistyped_name_at_the_same_address_is_proposed(alice):
    """Names, addresses and phones only: typos in the name's first word and in the
    street, a postcode with two digits swapped."""
    from rapport.duplicates.matching.organizations import organization_keys

    a = {"name": "Brinkmann Haustechnik GmbH",
         "addresses": [("Gartenweg 12", "Celle", "29221")]}  # fmt: skip
    b = {"name": "Brinkman Haustechnik",
         "addresses": [("Gartenweg 12", "Celle", "29212")]}  # fmt: skip
    assert organization_keys(organization_features(**a)) & organization_keys(
        organization_features(**b)
    )
    assert score(a, b) >= 0.5
    # the same name at another address in another town: not proposed on the name alone
    c = {"name": "Brinkmann Haustechnik GmbH",
         "addresses": [("Bahnhofstrasse 1", "Hamburg", "20095")]}  # fmt: skip
    assert score(a, c) < 0.5
    first = make_organization(alice, name="Brinkmann Haustechnik GmbH",
                              addresses=[{"street": "Gartenweg 12", "locality": "Celle",
                                          "postcode": "29221", "country": "DE"}])  # fmt: skip
    second = make_organization(alice, name="Brinkman Haustechnik",
                               addresses=[{"street": "Gartenweg 12", "locality": "Cele",
                                           "postcode": "29212", "country": "DE"}])  # fmt: skip
    make_organization(alice, name="Haustechnik Nord",
                      addresses=[{"street": "Gartenweg 14", "locality": "Celle",
                                  "postcode": "29221", "country": "DE"}])  # fmt: skip
    services.duplicates_scan_run(scan_id=services.duplicates_scan_create(actor=alice).pk)
    cluster = DuplicateCluster.objects.get(kind=DuplicateCluster.Kind.ORGANIZATION)
    assert services.cluster_members(cluster) == {first.pk, second.pk}
