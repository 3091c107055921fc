"""quality_score in segments selects exactly the contacts whose audit score compares, with
staleness as of now, as the audit's own pages compute it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from rapport.contacts.tests.factories import make_contact
from rapport.quality import rules
from rapport.quality.models import ContactQuality
from rapport.quality.selectors import stale_before
from rapport.quality.services import quality_refresh
from rapport.segments.selectors import query_matching

pytestmark = pytest.mark.django_db


def _scores() -> dict[int, int]:
    cut = stale_before()
    return {
        q.contact_id: rules.score(q.facts | (rules.Fact.STALE if q.last_touched < cut else 0))
        for q in ContactQuality.objects.all()
    }


def test_quality_score_compares_as_the_audit_scores(alice):
    rich = make_contact(given_name="Rich", phones=[{"number": "+44 20 7946 0958"}],
                        addresses=[{"locality": "Leeds", "country": "GB"}], job_title="CFO")  # fmt: skip
    bare = make_contact(given_name="Bare", emails=[])
    old = make_contact(given_name="Old", phones=[{"number": "+44 20 7946 0001"}],
                       addresses=[{"locality": "York", "country": "GB"}], job_title="CTO")  # fmt: skip
    quality_refresh(force=True)
    ContactQuality.objects.filter(contact=old).update(
        last_touched=timezone.now() - dt.timedelta(days=3000)
    )
    scores = _scores()
    assert len(set(scores.values())) == 3  # three different scores to tell apart
    for op, check in (
        (">=", int.__ge__),
        ("<", int.__lt__),
        (":", int.__eq__),
        (":!=", int.__ne__),
    ):
        for threshold in sorted(set(scores.values())):
            text = f"quality_score{op}{threshold}" if op != ":" else f"quality_score:{threshold}"
            if op == ":!=":
                text = f"quality_score:!={threshold}"
            elif op != ":":
                text = f"quality_score:{op}{threshold}"
            found = set(query_matching(alice, text).values_list("pk", flat=True))
            assert found == {pk for pk, s in scores.items() if check(s, threshold)}, text
    assert {rich.pk, bare.pk, old.pk} == set(scores)


def test_a_quality_score_out_of_range_is_refused(alice):
    from rapport.core.errors import InvalidInput

    with pytest.raises(InvalidInput, match="from 0 to 100"):
        query_matching(alice, "quality_score:>101")
