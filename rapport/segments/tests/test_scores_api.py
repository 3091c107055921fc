"""/api/v1/scores as a client uses it: a bad rule is a 422 naming the rule and the
setting, a score is defined, changed with If-Match, computed on request and read back;
segment members sort by it; members and readers may read but not define scores."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from rapport.contacts.models import Contact
from rapport.contacts.services import tag_create
from rapport.contacts.tests.factories import make_contact
from rapport.segments.models import Score, ScoreRule

pytestmark = pytest.mark.django_db


def post(client, url, body=None, **headers):
    return client.post(url, json.dumps(body or {}), content_type="application/json", **headers)


def patch(client, url, body, **headers):
    return client.patch(url, json.dumps(body), content_type="application/json", **headers)


@pytest.fixture
def crowd(alice):
    tag_create(actor=alice, data={"name": "vip"})
    ada = make_contact(given_name="Ada", family_name="Lovelace", tags=["vip"])
    bob = make_contact(given_name="Bob", family_name="Miller")
    cy = make_contact(given_name="Cy", family_name="Young", tags=["vip"])
    recently = timezone.now() - dt.timedelta(hours=1)
    Contact.objects.filter(pk=cy.pk).update(last_contacted_at=recently)
    return ada, bob, cy


LEAD = {
    "name": "Lead",
    "rules": [
        {"kind": "match", "label": "VIP", "points": 20, "query": "tag:vip"},
        {"kind": "recency", "points": 10, "of": "contacted", "half_life_days": 30},
    ],
}


def test_a_bad_rule_is_a_422_naming_the_rule_and_nothing_is_saved(alice_client, crowd):
    bad = {"name": "Lead", "rules": [LEAD["rules"][0], {"kind": "activity", "points": 5,
                                                        "direction": "sideways"}]}  # fmt: skip
    answer = post(alice_client, "/api/v1/scores", bad)
    assert answer.status_code == 422
    assert answer.json()["errors"] == [
        {
            "field": "rules[1].direction",
            "message": "One of: any, in, out, internal; not “sideways”.",
        }
    ]
    for junk in ({"name": "X", "rules": "all"}, {"name": "X", "rules": [5]}, {"name": 5},
                 {"name": "X", "rules": [{"kind": "match", "points": 1e300, "query": "x"}]},
                 {"name": "X", "colour": "red"}):  # fmt: skip
        assert post(alice_client, "/api/v1/scores", junk).status_code == 422, junk
    assert not Score.objects.exists()


def test_a_score_is_defined_changed_with_if_match_computed_and_read(
    alice_client, crowd, django_capture_on_commit_callbacks
):
    ada, bob, cy = crowd
    made = post(alice_client, "/api/v1/scores", LEAD)
    assert made.status_code == 201
    body = made.json()
    assert body["key"] == "lead" and body["stale"] and body["computed_at"] is None
    assert [r["summary"] for r in body["rules"]] == [
        "+20 when tag:vip",
        "+10 for being contacted lately, halved every 30 days",
    ]
    assert body["rules"][1]["half_life_days"] == 30 and body["rules"][1]["query"] is None
    url = f"/api/v1/scores/{body['id']}"

    with django_capture_on_commit_callbacks(execute=True):
        assert post(alice_client, url + "/refresh").status_code == 202
    assert alice_client.get(url).json()["computed_at"] is not None
    top = alice_client.get(url + "/top").json()
    assert top == [
        {"contact": cy.pk, "name": "Cy Young", "value": 30},
        {"contact": ada.pk, "name": "Ada Lovelace", "value": 20},
    ]
    mine = alice_client.get(f"/api/v1/scores/of/{bob.pk}").json()
    assert [(v["key"], v["value"]) for v in mine] == [("lead", 0)]
    assert alice_client.get("/api/v1/scores/of/999999").status_code == 404

    # the rules read back can be sent back as they are (settings of other kinds empty)
    etag = made.headers["ETag"]
    rules = body["rules"] + [{"kind": "match", "points": -5, "query": "NOT tag:vip"}]
    changed = patch(alice_client, url, {"rules": rules}, HTTP_IF_MATCH=etag)
    assert changed.status_code == 200 and len(changed.json()["rules"]) == 3
    assert changed.json()["stale"] is True
    stale = patch(alice_client, url, {"description": "again"}, HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    moved = patch(alice_client, url, {"key": "other"}, HTTP_IF_MATCH=changed.headers["ETag"])
    assert moved.status_code == 422 and moved.json()["errors"][0]["field"] == "key"
    assert ScoreRule.objects.count() == 3


def test_segment_members_sort_by_a_score_through_the_api(alice_client, alice, crowd):
    from rapport.segments import services

    ada, bob, cy = crowd
    score = services.score_create(actor=alice, data=LEAD)
    services.scores_refresh(score=score)
    made = post(alice_client, "/api/v1/segments", {"name": "All", "query": "has:email"})
    url = f"/api/v1/segments/{made.json()['id']}/members"
    page = alice_client.get(url + "?sort=-score.lead&limit=2").json()
    assert [(m["name"], m["score"]) for m in page["items"]] == [("Cy Young", 30),
                                                               ("Ada Lovelace", 20)]  # fmt: skip
    rest = alice_client.get(url + f"?sort=-score.lead&cursor={page['next_cursor']}").json()
    assert [(m["name"], m["score"]) for m in rest["items"]] == [("Bob Miller", 0)]
    assert rest["next_cursor"] is None
    by_name = alice_client.get(url).json()["items"]
    assert [m["name"] for m in by_name] == ["Ada Lovelace", "Bob Miller", "Cy Young"]
    assert by_name[0]["score"] is None
    wrong = alice_client.get(url + "?sort=score.nope")
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "sort"
    other_order = alice_client.get(url + f"?sort=score.lead&cursor={page['next_cursor']}")
    assert other_order.status_code == 422
    count = post(alice_client, "/api/v1/segments/preview", {"query": "score.lead>=20"}).json()
    assert count["count"] == 2 and count["query"] == "score.lead:>=20"


def test_members_and_readers_read_scores_but_cannot_define_them(
    alice, bob_client, charlie_client, crowd
):
    from rapport.segments import services

    score = services.score_create(actor=alice, data=LEAD)
    url = f"/api/v1/scores/{score.pk}"
    assert post(bob_client, "/api/v1/scores", {"name": "Mine", "rules": []}).status_code == 403
    assert patch(bob_client, url, {"rules": []}).status_code == 403
    assert bob_client.delete(url).status_code == 403
    assert post(bob_client, url + "/refresh").status_code == 403
    assert charlie_client.get(url).status_code == 200
    assert [s["key"] for s in charlie_client.get("/api/v1/scores").json()] == ["lead"]
    assert ScoreRule.objects.filter(score=score).count() == 2


def test_a_score_a_segment_uses_cannot_be_deleted(alice_client, alice, crowd):
    from rapport.segments import services

    score = services.score_create(actor=alice, data=LEAD)
    services.segment_create(actor=alice, data={"name": "Hot", "query": "score.lead:>25"})
    url = f"/api/v1/scores/{score.pk}"
    refused = alice_client.delete(url)
    assert refused.status_code == 422
    assert (
        refused.json()["errors"][0]["message"]
        == "Segments use score.lead (Hot): change them first."
    )
    services.segment_delete(actor=alice, segment=services.segments.Segment.objects.get())
    assert alice_client.delete(url).status_code == 204
    assert not Score.objects.exists()
