"""The scores' pages as an admin and a member use them: the editor keeps what was typed
and puts each error beside its rule, "Add a rule" saves nothing, the score's page shows
its rules, top contacts and spread; the contact's page shows its values; a segment's
members sort by a score; members see scores but cannot edit rules."""

from __future__ import annotations

import pytest

from rapport.contacts.services import tag_create
from rapport.contacts.tests.factories import make_contact
from rapport.segments import services
from rapport.segments.models import Score

pytestmark = pytest.mark.django_db


@pytest.fixture
def vips(alice):
    tag_create(actor=alice, data={"name": "vip"})
    return [
        make_contact(given_name=f"Vip{n}", family_name="Person", tags=["vip"]) for n in range(2)
    ] + [make_contact(given_name="Plain", family_name="Person")]


def form(rows: list[dict[str, str]], **fields: str) -> dict[str, str]:
    data = {"name": "Lead", "key": "", "description": "", "rule_rows": str(len(rows)), **fields}
    for index, row in enumerate(rows):
        data |= {f"rule-{index}-{name}": value for name, value in row.items()}
    return data


def test_an_admin_defines_a_score_on_the_page(alice_client, vips):
    page = alice_client.get("/scores/new/")
    assert page.status_code == 200 and 'name="rule-0-kind"' in page.content.decode()

    more = alice_client.post("/scores/new/", form([{"kind": "match"}], add_rule="1"))
    assert more.status_code == 200 and 'name="rule-1-kind"' in more.content.decode()
    assert not Score.objects.exists()

    bad = alice_client.post(
        "/scores/new/",
        form([
            {"kind": "match", "points": "20", "match.query": "tag:vip AND"},
            {"kind": "activity", "points": "5", "activity.half_life_days": "-3"},
            {"kind": "", "points": "junk"},  # no kind: not a rule
        ]),
    )  # fmt: skip
    assert bad.status_code == 422
    text = bad.content.decode()
    assert "at 12: The query ends too soon" in text and 'value="tag:vip AND"' in text  # kept
    assert "Must be a number more than 0 to 3,650." in text
    assert 'id="rule-1-activity-half_life_days-error"' in text  # beside its input
    assert not Score.objects.exists()

    done = alice_client.post(
        "/scores/new/",
        form([
            {"kind": "match", "label": "VIP", "points": "20", "match.query": "tag:vip",
             "activity.cap": "9"},  # another kind's setting: ignored
            {"kind": "recency", "points": "10", "recency.of": "contacted",
             "recency.half_life_days": "30"},
            {"kind": "match", "points": "5", "match.query": "tag:vip", "remove": "on"},
        ]),
    )  # fmt: skip
    score = Score.objects.get()
    assert done.status_code == 302 and done["Location"] == f"/scores/{score.pk}/"
    assert [r.summary for r in score.rules.all()] == [
        "+20 when tag:vip",
        "+10 for being contacted lately, halved every 30 days",
    ]

    services.scores_refresh(score=score)
    detail = alice_client.get(f"/scores/{score.pk}/").content.decode()
    assert "score.lead" in detail and "+20 when tag:vip" in detail and "Edit rules" in detail
    assert "Vip0 Person" in detail and "20 to 20" not in detail
    assert '<td data-label="Contacts" class="num">2</td>' in detail  # two with 20
    listing = alice_client.get("/scores/").content.decode()
    assert "Lead" in listing and "score.lead" in listing
    nav = listing.split('aria-label="Main"', 1)[1].split("</nav>", 1)[0]
    assert 'aria-current="page">Scores</a>' in nav

    edit = alice_client.get(f"/scores/{score.pk}/edit/").content.decode()
    assert 'value="tag:vip"' in edit and 'name="rule-2-kind"' in edit  # two rules, one blank


def test_a_stale_edit_is_refused_and_nothing_is_lost(alice_client, alice, vips):
    score = services.score_create(actor=alice, data={"name": "Lead", "rules": []})
    services.score_update(actor=alice, score=score, data={"description": "changed"})
    page = alice_client.post(
        f"/scores/{score.pk}/edit/",
        form([{"kind": "match", "points": "3", "match.query": "tag:vip"}],
             version=str(score.version)),
    )  # fmt: skip
    assert page.status_code == 409 and "changed by someone else" in page.content.decode()
    assert not score.rules.exists()


def test_the_contact_page_and_segment_members_show_scores(alice_client, alice, vips):
    score = services.score_create(
        actor=alice,
        data={"name": "Lead", "rules": [{"kind": "match", "points": 20, "query": "tag:vip"}]},
    )
    services.scores_refresh(score=score)
    contact_page = alice_client.get(f"/contacts/{vips[0].pk}/").content.decode()
    assert 'id="h-scores"' in contact_page and "<strong>20</strong>" in contact_page
    plain_page = alice_client.get(f"/contacts/{vips[2].pk}/").content.decode()
    assert "<strong>0</strong>" in plain_page

    segment = services.segment_create(actor=alice, data={"name": "All", "query": "has:email"})
    by_name = alice_client.get(f"/segments/{segment.pk}/").content.decode()
    assert 'value="-score.lead"' in by_name and 'data-label="Score"' not in by_name
    by_score = alice_client.get(f"/segments/{segment.pk}/?sort=score.lead").content.decode()
    assert by_score.index("Plain Person") < by_score.index("Vip0 Person")
    assert '<td data-label="Score" class="num">0</td>' in by_score
    editor = alice_client.get("/segments/new/").content.decode()
    assert '"name": "score.lead"' in editor  # the builder offers it


def test_a_member_sees_scores_but_cannot_edit_their_rules(bob_client, alice, vips):
    score = services.score_create(actor=alice, data={"name": "Lead", "rules": []})
    assert bob_client.get(f"/scores/{score.pk}/").status_code == 200
    assert "Edit rules" not in bob_client.get(f"/scores/{score.pk}/").content.decode()
    assert bob_client.get("/scores/new/").status_code == 403
    assert bob_client.get(f"/scores/{score.pk}/edit/").status_code == 403
    posted = bob_client.post(
        f"/scores/{score.pk}/edit/",
        form([{"kind": "match", "points": "3", "match.query": "tag:vip"}]),
    )
    assert posted.status_code == 403 and not score.rules.exists()
    assert bob_client.post(f"/scores/{score.pk}/delete/").status_code == 403
    assert bob_client.post(f"/scores/{score.pk}/refresh/").status_code == 403
    nav = bob_client.get("/segments/").content.decode()
    assert ">Scores</a>" not in nav.split('aria-label="Main"', 1)[1].split("</nav>", 1)[0]


def test_text_no_database_can_store_is_refused_not_crashed_on(alice_client):
    page = alice_client.post(
        "/scores/new/", form([{"kind": "match", "points": "1", "match.query": "tag:a\x00b"}])
    )
    assert page.status_code == 422 and "NUL" in page.content.decode()
    assert not Score.objects.exists()
