"""Scores as an admin defines them and as everyone uses them: rules of each kind give the
points a hand count gives (decay by half-lives included), bad rules are refused naming
the rule and the setting with nothing saved, and values are asked for in queries
(``score.lead:>N``) and sorted on, on both databases."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from rapport.activity.models import Interaction, Participant
from rapport.contacts.models import Contact
from rapport.contacts.services import tag_create
from rapport.contacts.tests.factories import make_contact
from rapport.core.errors import InvalidInput, NotPermitted
from rapport.segments import services
from rapport.segments.models import ContactScore, Order, Score
from rapport.segments.selectors import query_matching, query_members
from rapport.segments.services.scoring import whole

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)


def _interaction(contact: Contact, kind: str, direction: str, days_ago: float, **extra) -> None:
    when = NOW - dt.timedelta(days=days_ago)
    made = Interaction.objects.create(
        kind=kind, direction=direction, occurred_at=when, two_way=True, subject=kind, **extra
    )
    for role in ("to", "cc"):  # one interaction, two roles: it counts once
        Participant.objects.create(interaction=made, role=role, contact=contact, occurred_at=when)


def values(score: Score) -> dict[str, int]:
    return {
        name: value
        for name, value in ContactScore.objects.filter(score=score).values_list(
            "contact__given_name", "value"
        )
    }


@pytest.fixture
def people(alice):
    for name in ("vip", "bounced"):
        tag_create(actor=alice, data={"name": name})
    ada = make_contact(given_name="Ada", family_name="Lovelace", tags=["vip"])
    bea = make_contact(given_name="Bea", family_name="Lopez", tags=["vip", "bounced"])
    cy = make_contact(given_name="Cy", family_name="Young")
    dee = make_contact(given_name="Dee", family_name="Mars")
    _interaction(ada, "call", "inbound", 0)  # counts 10
    _interaction(ada, "call", "inbound", 30)  # one half-life old: counts 5
    _interaction(ada, "call", "inbound", 120)  # outside the 90-day window
    _interaction(ada, "call", "outbound", 1)  # not inbound
    _interaction(ada, "meeting", "inbound", 2, cancelled=True)  # cancelled
    _interaction(bea, "call", "inbound", 60)  # two half-lives: 2.5
    for days in range(12):  # many calls, capped at 25
        _interaction(cy, "call", "inbound", days / 100)
    Contact.objects.filter(pk=dee.pk).update(last_contacted_at=NOW - dt.timedelta(days=10))
    Contact.objects.filter(pk=ada.pk).update(last_contacted_at=NOW - dt.timedelta(days=400))
    return {"ada": ada, "bea": bea, "cy": cy, "dee": dee}


RULES = [
    {"kind": "match", "label": "VIP", "points": 20, "query": "tag:vip"},
    {"kind": "match", "label": "Bounced", "points": -10, "query": "tag:bounced"},
    {"kind": "activity", "points": 10, "interaction": "call", "direction": "in",
     "window_days": 90, "half_life_days": 30, "cap": 25},
    {"kind": "recency", "points": 8, "of": "contacted", "half_life_days": 10,
     "within_days": 365},
]  # fmt: skip


def test_a_refresh_gives_the_points_a_hand_count_gives_with_decay(alice, people):
    lead = services.score_create(actor=alice, data={"name": "Lead score", "rules": RULES})
    assert lead.key == "lead_score" and lead.stale
    [done] = services.scores_refresh(score=lead, now=NOW)
    # Ada: vip 20 + calls 10 + 5 (30 days, half-life 30); last contacted beyond 365 days
    # Bea: vip 20 - bounced 10 + 2.5 (60 days) = 12.5 → 13 (halves away from zero)
    # Cy: 12 calls today, capped at 25; Dee: contacted 10 days ago, half-life 10: 8 / 2
    assert values(lead) == {"Ada": 35, "Bea": 13, "Cy": 25, "Dee": 4}
    assert (done.scored, done.changed, done.problem) == (4, 4, "")
    lead.refresh_from_db()
    assert lead.computed_at == NOW and not lead.stale

    # the same moment again changes nothing; a month later the calls count for less
    assert services.scores_refresh(score=lead, now=NOW)[0].changed == 0
    later = services.scores_refresh(score=lead, now=NOW + dt.timedelta(days=30))[0]
    # Ada 20 + 5 + 2.5; Bea 10 + 1.25; Cy still capped; Dee 8 / 16 = 0.5 → 1
    assert values(lead) == {"Ada": 28, "Bea": 11, "Cy": 25, "Dee": 1}
    assert later.changed == 3
    # a contact whose points come to 0 loses its row, and reads as 0 in queries
    Contact.objects.filter(pk=people["dee"].pk).update(last_contacted_at=None)
    services.scores_refresh(score=lead, now=NOW + dt.timedelta(days=30))
    assert "Dee" not in values(lead)


def test_rounding_goes_halves_away_from_zero_and_ignores_float_noise():
    assert [whole(x) for x in (2.5, -2.5, 4.4999999999, 0.49, -0.5)] == [3, -3, 5, 0, -1]


def test_recency_of_orders_counts_the_last_counted_order(alice, people):
    for days, status in ((20, "paid"), (5, "cancelled")):
        Order.objects.create(
            contact=people["cy"], ordered_at=NOW - dt.timedelta(days=days), amount=Decimal(10),
            currency="EUR", status=status,
        )  # fmt: skip
    score = services.score_create(
        actor=alice,
        data={"name": "Buyer", "key": "buyer", "rules": [
            {"kind": "recency", "points": 40, "of": "ordered", "half_life_days": 20}]},
    )  # fmt: skip
    services.scores_refresh(score=score, now=NOW)
    assert values(score) == {"Cy": 20}  # the paid order 20 days ago; cancelled ones do not count


def test_a_bad_rule_is_refused_naming_the_rule_and_the_setting_and_nothing_is_saved(alice, people):
    bad = [
        {"kind": "match", "points": 5, "query": "tag:nope"},
        {"kind": "activity", "points": "many", "interaction": "fax", "half_life_days": 0},
        {"kind": "recency", "points": 5},
        {"kind": "match", "points": 5, "query": "score.other:>3"},
        {"kind": "teleport", "points": 1},
        {"kind": "match", "points": 1, "query": "tag:vip", "cap": 3},
    ]
    with pytest.raises(InvalidInput) as caught:
        services.score_create(actor=alice, data={"name": "Lead", "key": "Lead!", "rules": bad})
    errors = caught.value.by_field()
    assert errors["rules[0].query"] == ["at 5: There is no tag “nope”."]
    assert errors["rules[1].points"] == ["Must be a whole number from -10,000 to 10,000."]
    assert errors["rules[1].interaction"][0].startswith("One of: any, note, call")
    assert errors["rules[1].half_life_days"] == ["Must be a number more than 0 to 3,650."]
    assert errors["rules[2].half_life_days"] == ["A recency rule needs a half-life."]
    assert "There is no score “other”" in errors["rules[3].query"][0]
    assert errors["rules[4].kind"] == ["One of: match, activity, recency."]
    assert errors["rules[5].cap"][0].startswith("Not a setting of a match rule")
    assert "key" in errors
    assert "; Rule 1 · query: at 5: There is no tag “nope”.;" in str(caught.value)
    assert not Score.objects.exists()


def test_a_score_s_rule_cannot_use_a_score_even_through_a_segment(alice, people):
    services.score_create(actor=alice, data={"name": "Lead", "rules": RULES})
    services.segment_create(actor=alice, data={"name": "Hot", "query": "score.lead:>30"})
    with pytest.raises(InvalidInput) as caught:
        services.score_create(
            actor=alice,
            data={"name": "Other", "rules": [{"kind": "match", "points": 1, "query": "in:Hot"}]},
        )
    assert "A score's rule cannot use a score (score.lead)" in str(caught.value)


def test_score_in_queries_counts_a_missing_value_as_zero(alice, people):
    lead = services.score_create(actor=alice, data={"name": "Lead", "rules": RULES})
    make_contact(given_name="Eve", family_name="Zero")  # no points: no value
    services.scores_refresh(score=lead, now=NOW)  # Ada 35, Bea 13, Cy 25, Dee 4

    def names(text: str) -> set[str]:
        return set(query_matching(alice, text).values_list("given_name", flat=True))

    assert names("score.lead:>20") == {"Ada", "Cy"}
    assert names("score.lead>=25") == {"Ada", "Cy"}  # the colon may be left out
    assert names("score.lead:<5") == {"Dee", "Eve"}
    assert names("score.lead:0") == names("NOT score.lead:>0") == {"Eve"}
    assert names("score.lead!=0") == {"Ada", "Bea", "Cy", "Dee"}
    assert names("score.lead:>=-100 AND score.lead:<=13") == {"Bea", "Dee", "Eve"}
    assert names("score.lead:13 OR score.lead:4") == {"Bea", "Dee"}
    with pytest.raises(InvalidInput, match="There is no score “leed”. Did you mean score.lead?"):
        query_matching(alice, "score.leed:>3")
    with pytest.raises(InvalidInput, match="score.lead is a number"):
        query_matching(alice, "score.lead:>high")


@pytest.mark.parametrize("few_unscored", [5_000, 0])  # read by id then sorted; walked by name
def test_members_sort_by_score_page_after_page(alice, people, few_unscored, monkeypatch):
    from rapport.segments import selectors

    monkeypatch.setattr(selectors, "FEW_UNSCORED", few_unscored)
    lead = services.score_create(actor=alice, data={"name": "Lead", "rules": RULES})
    make_contact(given_name="Eve", family_name="Zero")  # no value: 0
    make_contact(given_name="Fay", family_name="Below", tags=["bounced"])  # -10
    make_contact(given_name="Gus", family_name="Tied", tags=["vip"])  # 20
    make_contact(given_name="Hal", family_name="Tied", tags=["vip"])  # 20
    services.scores_refresh(score=lead, now=NOW)

    def all_pages(sort: str, query: str = "has:email") -> list[tuple[str, int]]:
        seen, cursor = [], None
        while True:
            page = query_members(alice, query, sort=sort, cursor=cursor, limit=2)
            seen += [(c.given_name, c.score_value) for c in page.items]
            if not page.next_cursor:
                return seen
            cursor = page.next_cursor

    assert all_pages("-score.lead") == [
        ("Ada", 35), ("Cy", 25), ("Gus", 20), ("Hal", 20), ("Bea", 13), ("Dee", 4), ("Eve", 0),
        ("Fay", -10),
    ]  # fmt: skip
    assert all_pages("score.lead") == [
        ("Fay", -10), ("Eve", 0), ("Dee", 4), ("Bea", 13), ("Gus", 20), ("Hal", 20), ("Cy", 25),
        ("Ada", 35),
    ]  # fmt: skip
    assert all_pages("-score.lead", "NOT tag:vip") == [("Cy", 25), ("Dee", 4), ("Eve", 0),
                                                       ("Fay", -10)]  # fmt: skip
    assert all_pages("-score.lead", "given_name:Eve") == [("Eve", 0)]
    with pytest.raises(InvalidInput, match="There is no score “nope”"):
        query_members(alice, "has:email", sort="-score.nope")
    with pytest.raises(InvalidInput, match="Sort by name"):
        query_members(alice, "has:email", sort="colour")
    cursor = query_members(alice, "has:email", sort="-score.lead", limit=2).next_cursor
    with pytest.raises(InvalidInput, match="cursor"):
        query_members(alice, "has:email", sort="score.lead", cursor=cursor)


def test_only_admins_define_scores(bob, charlie, alice):
    with pytest.raises(NotPermitted):
        services.score_create(actor=bob, data={"name": "Mine", "rules": []})
    score = services.score_create(actor=alice, data={"name": "Lead", "rules": []})
    with pytest.raises(NotPermitted):
        services.score_update(actor=bob, score=score, data={"rules": RULES[:1]})
    with pytest.raises(NotPermitted):
        services.score_delete(actor=charlie, score=score)


def test_the_worker_computes_a_score_after_its_rules_change_and_not_again_before_due(alice, people):
    from rapport.segments.tasks import scores_enqueue_due

    lead = services.score_create(actor=alice, data={"name": "Lead", "rules": RULES[:1]})
    scores_enqueue_due()  # tasks run inline in tests
    lead.refresh_from_db()
    assert set(values(lead)) == {"Ada", "Bea"} and not lead.stale and lead.computed_at
    assert services.scores_due() == []
    computed = lead.computed_at
    scores_enqueue_due()
    lead.refresh_from_db()
    assert lead.computed_at == computed  # not due: not computed again

    services.score_update(actor=alice, score=lead, data={"rules": RULES[1:2]})
    assert services.scores_due() == [lead.pk]
    scores_enqueue_due()
    assert values(lead) == {"Bea": -10}


def test_a_subject_access_export_holds_the_person_s_scores_and_how_they_were_reached(alice, people):
    from rapport.core.subjects import Subject, provider

    lead = services.score_create(actor=alice, data={"name": "Lead", "rules": RULES[:2]})
    services.scores_refresh(score=lead, now=NOW)
    bea = Subject(contact_id=people["bea"].pk, contact_ids=(people["bea"].pk,))
    scores = provider("segments")
    [found] = scores.export(bea).sections["Scores"]
    assert (found["score"], found["value"]) == ("Lead", 10)
    assert found["rules"] == ["+20 when tag:vip", "-10 when tag:bounced"]
    assert scores.erase(bea)["score values"] == 1
    assert scores.preview(bea)["score values"] == 0


def test_segments_are_recorded_again_after_values_change(alice, people):
    from rapport.segments.models import Segment

    lead = services.score_create(actor=alice, data={"name": "Lead", "rules": RULES})
    hot = services.segment_create(actor=alice, data={"name": "Hot", "query": "score.lead>20"})
    Segment.objects.filter(pk=hot.pk).update(stale=False)
    services.scores_refresh(score=lead, now=NOW)
    assert Segment.objects.get(pk=hot.pk).stale
    Segment.objects.filter(pk=hot.pk).update(stale=False)
    services.scores_refresh(score=lead, now=NOW)  # nothing changed
    assert not Segment.objects.get(pk=hot.pk).stale
    assert services.segment_refresh(segment_id=hot.pk).count == 2  # Ada 35, Cy 25
