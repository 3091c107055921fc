"""/api/v1/segments and /api/v1/lists as a client uses them: save a segment from text or
from the builder's tree, count it, page through its members, ask why someone is in it,
change it with If-Match; bad queries get a 422 naming the position; lists by id."""

from __future__ import annotations

import json

import pytest

from rapport.contacts.services import tag_create
from rapport.contacts.tests.factories import make_contact
from rapport.segments.models import Segment

pytestmark = pytest.mark.django_db


def post(client, url, body, **headers):
    return client.post(url, json.dumps(body), content_type="application/json", **headers)


def patch(client, url, body, **headers):
    return client.patch(url, json.dumps(body), content_type="application/json", **headers)


@pytest.fixture
def crowd(alice):
    tag_create(actor=alice, data={"name": "vip"})
    vips = [
        make_contact(given_name=f"Vip{n}", family_name="Person", tags=["vip"]) for n in range(5)
    ]
    others = [make_contact(given_name=f"Other{n}", family_name="Person") for n in range(3)]
    return vips, others


def test_a_segment_is_saved_counted_paged_and_explained(alice_client, crowd):
    vips, others = crowd
    made = post(alice_client, "/api/v1/segments", {"name": "VIPs", "query": "tag:vip  -tag:x"})
    assert made.status_code == 422  # there is no tag x: nothing saved
    assert made.json()["errors"][0]["field"] == "query"
    assert not Segment.objects.exists()

    made = post(alice_client, "/api/v1/segments", {"name": "VIPs", "query": "tag:vip"})
    assert made.status_code == 201
    body = made.json()
    assert body["query"] == "tag:vip"
    assert body["tree"] == {"type": "condition", "field": "tag", "op": "", "value": "vip"}
    url = f"/api/v1/segments/{body['id']}"
    assert alice_client.get(url + "/count").json() == {"count": 5}

    page = alice_client.get(url + "/members?limit=2").json()
    names = [m["name"] for m in page["items"]]
    while page["next_cursor"]:
        page = alice_client.get(url + f"/members?limit=2&cursor={page['next_cursor']}").json()
        names += [m["name"] for m in page["items"]]
    assert names == sorted(v.display_name for v in vips)

    why = alice_client.get(url + f"/explain?contact={others[0].pk}").json()
    assert why["holds"] is False and why["explanation"]["text"] == "tag:vip"
    assert alice_client.get(url + "/explain?contact=999999").status_code == 422
    assert alice_client.get(url + "/members?cursor=garbage").status_code == 422


def test_the_builder_s_tree_and_the_text_are_one_query(alice_client, crowd):
    tree = {
        "type": "and",
        "parts": [
            {"type": "condition", "field": "tag", "op": "", "value": "vip"},
            {"type": "not", "part": {"type": "condition", "field": "given_name", "op": "",
                                     "value": "Vip0"}},
        ],
    }  # fmt: skip
    parsed = post(alice_client, "/api/v1/segments/parse", {"tree": tree}).json()
    assert parsed["query"] == "tag:vip AND NOT given_name:Vip0"
    back = post(alice_client, "/api/v1/segments/parse", {"query": parsed["query"]}).json()
    assert back["tree"] == tree
    preview = post(alice_client, "/api/v1/segments/preview", {"tree": tree, "limit": 2}).json()
    assert preview["count"] == 4 and len(preview["sample"]) == 2


def test_a_change_needs_the_current_etag_and_bad_queries_name_the_position(alice_client, crowd):
    made = post(alice_client, "/api/v1/segments", {"name": "VIPs", "query": "tag:vip"})
    url = f"/api/v1/segments/{made.json()['id']}"
    etag = made.headers["ETag"]
    changed = patch(alice_client, url, {"query": "tag:vip AND given_name:Vip1"}, HTTP_IF_MATCH=etag)
    assert changed.status_code == 200
    assert alice_client.get(url + "/count").json() == {"count": 1}
    stale = patch(alice_client, url, {"query": "tag:vip"}, HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    assert alice_client.delete(url, HTTP_IF_MATCH=etag).status_code == 412
    assert Segment.objects.exists()

    bad = post(alice_client, "/api/v1/segments/preview", {"query": "tag:vip AND"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["message"].startswith("at 12: The query ends too soon")
    wrong = post(alice_client, "/api/v1/segments/preview", {"query": "birthday:>banana"})
    assert (
        wrong.status_code == 422
        and "“banana” is not a date" in wrong.json()["errors"][0]["message"]
    )
    junk = post(alice_client, "/api/v1/segments/preview", {"tree": {"type": "x"}})
    assert junk.status_code == 422
    assert post(alice_client, "/api/v1/segments/preview", {"query": 5}).status_code == 422


def test_private_segments_stay_private_and_readers_cannot_write(
    alice_client, bob_client, charlie_client, crowd
):
    made = post(
        bob_client, "/api/v1/segments", {"name": "Mine", "query": "tag:vip", "shared": False}
    )
    url = f"/api/v1/segments/{made.json()['id']}"
    assert charlie_client.get(url).status_code == 404
    assert [s["name"] for s in charlie_client.get("/api/v1/segments").json()] == []
    assert (
        post(charlie_client, "/api/v1/segments", {"name": "X", "query": "tag:vip"}).status_code
        == 403
    )
    assert alice_client.get(url).status_code == 404  # private even to an admin's list…
    assert bob_client.delete(url).status_code == 204


def test_lists_take_contacts_by_id_and_work_in_queries(alice_client, crowd):
    vips, others = crowd
    made = post(alice_client, "/api/v1/lists", {"name": "Call back"})
    assert made.status_code == 201
    url = f"/api/v1/lists/{made.json()['id']}"
    added = post(
        alice_client, url + "/members", {"ids": [others[0].pk, others[1].pk, others[0].pk]}
    )
    assert added.json() == {"changed": 2, "size": 2}
    assert post(alice_client, url + "/members", {"ids": [999999]}).status_code == 422
    preview = post(alice_client, "/api/v1/segments/preview", {"query": 'in:"Call back"'}).json()
    assert preview["count"] == 2
    removed = post(alice_client, url + "/members/remove", {"ids": [others[0].pk]}).json()
    assert removed == {"changed": 1, "size": 1}
    assert [m["id"] for m in alice_client.get(url + "/members").json()["items"]] == [others[1].pk]
