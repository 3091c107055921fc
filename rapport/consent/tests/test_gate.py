"""The two questions the outreach gate asks: ``consent_verdict`` for one contact and
``contacts_consenting`` for a whole queryset in SQL. They must always agree."""

from __future__ import annotations

import datetime as dt

import pytest

from rapport.consent.models import Purpose
from rapport.consent.selectors import ConsentVerdict, consent_verdict, contacts_consenting
from rapport.consent.services import purpose_update
from rapport.consent.tests.support import make_purpose, record
from rapport.contacts.models import Contact
from rapport.contacts.tests.factories import make_contact

pytestmark = pytest.mark.django_db
NOW = dt.datetime.now(dt.UTC)


def _ago(days: float) -> str:
    return (NOW - dt.timedelta(days=days)).isoformat()


@pytest.fixture
def people(alice, bob):
    """Purposes on each kind of basis, and people with every kind of history."""
    make_purpose(alice, "newsletter", is_marketing=True, retention_days=365)
    make_purpose(alice, "updates", lawful_basis="legitimate_interest", text="")
    make_purpose(alice, "billing", lawful_basis="contract", text="")
    make_purpose(alice, "old", text="Old.")
    record(bob, make_contact(bob, given_name="Zed").pk, "grant", purpose="old")
    purpose_update(actor=alice, purpose=Purpose.objects.get(key="old"), data={"archived": True})

    def person(name, *events):
        contact = make_contact(bob, given_name=name)
        for action, purpose, extra in events:
            record(bob, contact, action, purpose=purpose, **extra)
        return contact

    return {
        "nobody": person("Nobody"),
        "granted": person("Granted", ("grant", "newsletter", {"given_at": _ago(10)})),
        "email only": person(
            "Email", ("grant", "newsletter", {"channel": "email", "given_at": _ago(10)})
        ),
        "withdrew": person(
            "Withdrew",
            ("grant", "newsletter", {"given_at": _ago(10)}),
            ("withdraw", "newsletter", {"channel": "email", "given_at": _ago(5)}),
        ),
        "lapsed": person("Lapsed", ("grant", "newsletter", {"given_at": _ago(400)})),
        "until soon": person(
            "Until",
            (
                "grant",
                "newsletter",
                {"given_at": _ago(1), "valid_until": (NOW + dt.timedelta(days=1)).isoformat()},
            ),
        ),
        "objects to marketing": person(
            "Objector",
            ("grant", "newsletter", {"given_at": _ago(10)}),
            ("object_marketing", None, {"given_at": _ago(2)}),
        ),
        "restricted": person(
            "Restricted",
            ("grant", "newsletter", {"given_at": _ago(10)}),
            ("restrict", None, {"given_at": _ago(2)}),
        ),
        "objects to updates": person("Updates", ("object", "updates", {"given_at": _ago(3)})),
        "withdrew updates by sms": person(
            "Sms", ("withdraw", "updates", {"channel": "sms", "given_at": _ago(3)})
        ),
    }


QUESTIONS = [
    (purpose, channel, at)
    for purpose in ("newsletter", "updates", "billing", "old", "missing")
    for channel in ("email", "sms", "fax")
    for at in (NOW, NOW + dt.timedelta(days=2), NOW + dt.timedelta(days=400))
]


def test_the_bulk_answer_is_the_single_answer_for_everyone(people):
    everyone = Contact.objects.filter(pk__in=[c.pk for c in people.values()])
    disagreements = []
    for purpose, channel, at in QUESTIONS:
        bulk = set(
            contacts_consenting(everyone, purpose=purpose, channel=channel, at=at).values_list(
                "pk", flat=True
            )
        )
        single = {
            c.pk
            for c in people.values()
            if consent_verdict(contact_id=c.pk, purpose=purpose, channel=channel, at=at).allowed
        }
        if bulk != single:
            disagreements.append((purpose, channel, at, bulk ^ single))
    assert disagreements == []
    # and the matrix is not trivially empty or full
    newsletter = contacts_consenting(everyone, purpose="newsletter", channel="email", at=NOW)
    assert {c.given_name for c in newsletter} == {"Granted", "Email", "Until"}


def _rule(person, purpose="newsletter", channel="email", at=NOW) -> ConsentVerdict:
    return consent_verdict(contact_id=person.pk, purpose=purpose, channel=channel, at=at)


def test_each_rule_says_why(people):
    assert _rule(people["nobody"]).rule == "consent.missing"
    granted = _rule(people["granted"])
    assert granted.allowed and granted.rule == "consent.granted"
    assert granted.until is not None and granted.until > NOW + dt.timedelta(days=350)
    assert _rule(people["email only"], channel="sms").rule == "consent.missing"
    assert _rule(people["withdrew"]).rule == "consent.withdrawn"
    assert _rule(people["withdrew"], channel="sms").allowed
    assert _rule(people["lapsed"]).rule == "consent.expired"
    assert _rule(people["until soon"]).allowed
    assert _rule(people["until soon"], at=NOW + dt.timedelta(days=2)).rule == "consent.expired"
    assert _rule(people["objects to marketing"]).rule == "consent.marketing_objection"
    assert _rule(people["objects to marketing"], purpose="billing").allowed
    assert _rule(people["restricted"], purpose="billing").rule == "consent.restricted"
    assert _rule(people["objects to updates"], purpose="updates").rule == "consent.objected"
    assert _rule(people["nobody"], purpose="updates").rule == "consent.legitimate_interest"
    assert _rule(people["withdrew updates by sms"], purpose="updates", channel="sms").rule == (
        "consent.withdrawn"
    )
    assert _rule(people["granted"], purpose="old").rule == "consent.purpose_archived"
    assert _rule(people["nobody"], purpose="billing").rule == "consent.contract"


def test_one_decision_is_one_query_and_the_bulk_one_is_one_query(people, django_assert_num_queries):
    with django_assert_num_queries(1):
        _rule(people["granted"])
    everyone = Contact.objects.all()
    queryset = contacts_consenting(everyone, purpose="newsletter", channel="email", at=NOW)
    with django_assert_num_queries(1):
        list(queryset.values_list("pk", flat=True))
