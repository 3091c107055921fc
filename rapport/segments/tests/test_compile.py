"""Each construct of the language run on generated people, on both databases, against the
same question answered by hand in Python over the same people; and every kind of bad
query refused with a message naming the problem."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

import pytest
from django.utils import timezone

from rapport.activity.models import Interaction, Participant
from rapport.activity.services import tasks as task_services
from rapport.contacts.models import Contact
from rapport.contacts.services import tag_create
from rapport.contacts.tests.factories import employ, make_contact, make_organization
from rapport.core.errors import InvalidInput
from rapport.segments import services
from rapport.segments.selectors import query_count, query_explain, query_matching

pytestmark = pytest.mark.django_db

NOW = timezone.now()
CITIES = ["Paris", "New York", "Berlin", ""]
TAGS = ["vip", "press", "golf"]


@dataclass
class Person:
    pk: int
    tags: set[str]
    city: str
    country: str
    stage: str
    owner: str
    last_contacted: dt.datetime | None
    calls: list[dt.datetime] = field(default_factory=list)
    meetings_in: list[dt.datetime] = field(default_factory=list)
    open_tasks: int = 0
    organization: str = ""
    email: str = ""


@pytest.fixture
def people(alice, bob):
    rng = random.Random(7)
    for name in TAGS:
        tag_create(actor=alice, data={"name": name})
    acme = make_organization(name="Acme Analytics", industry="Software")
    out: list[Person] = []
    for n in range(40):
        tags = {t for t in TAGS if rng.random() < 0.35}
        city = rng.choice(CITIES)
        country = {"Paris": "FR", "New York": "US", "Berlin": "DE", "": ""}[city]
        stage = rng.choice(["lead", "prospect", "customer"])
        owner = rng.choice([alice, bob, None])
        email = f"p{n}@{rng.choice(['example.com', 'corp.example.org'])}"
        data = {
            "given_name": f"Person{n}",
            "family_name": rng.choice(["Ng", "Lovelace", "Hopper"]),
            "emails": [{"address": email}],
            "tags": sorted(tags),
            "lifecycle_stage": stage,
            "owner": owner.username if owner else None,
        }
        if city:
            data["addresses"] = [{"locality": city, "country": country}]
        contact = make_contact(**data)
        owner_name = contact.owner.username if contact.owner_id else ""  # the actor by default
        person = Person(contact.pk, tags, city, country, stage, owner_name, None, email=email)
        if rng.random() < 0.3:
            employ(contact, acme)
            person.organization = "Acme Analytics"
        for _ in range(rng.choice([0, 0, 1, 2, 3, 4])):
            when = NOW - dt.timedelta(days=rng.randint(1, 200), hours=rng.randint(0, 23))
            _interaction(contact, "call", "outbound", when)
            person.calls.append(when)
        if rng.random() < 0.3:
            when = NOW - dt.timedelta(days=rng.randint(1, 60))
            _interaction(contact, "meeting", "inbound", when)
            person.meetings_in.append(when)
        if rng.random() < 0.25:
            task_services.task_create(
                actor=alice, data={"title": "Follow up", "contact_ids": [contact.pk]}
            )
            person.open_tasks = 1
        out.append(person)
    last = dict(Contact.objects.values_list("pk", "last_contacted_at"))
    for person in out:
        person.last_contacted = last[person.pk]
    return out


def _interaction(contact: Contact, kind: str, direction: str, when: dt.datetime) -> None:
    made = Interaction.objects.create(
        kind=kind, direction=direction, occurred_at=when, two_way=True, subject=kind
    )
    # a person in two roles of one interaction counts once
    for role in ("to", "cc"):
        Participant.objects.create(interaction=made, role=role, contact=contact, occurred_at=when)


def _within(moments: list[dt.datetime], days: int) -> int:
    return sum(1 for m in moments if m >= NOW - dt.timedelta(days=days))


CASES = {
    "tag:vip": lambda p: "vip" in p.tags,
    "tag:VIP": lambda p: "vip" in p.tags,
    "NOT tag:vip": lambda p: "vip" not in p.tags,
    "tag:!=vip": lambda p: "vip" not in p.tags,
    "tag:vip AND tag:press": lambda p: {"vip", "press"} <= p.tags,
    "tag:vip OR tag:press": lambda p: bool({"vip", "press"} & p.tags),
    'tag:vip AND (country:DE OR city:"New York")': lambda p: (
        "vip" in p.tags and (p.country == "DE" or p.city == "New York")
    ),
    "NOT (tag:vip OR tag:golf) AND stage:customer": lambda p: (
        not ({"vip", "golf"} & p.tags) and p.stage == "customer"
    ),
    "city:paris": lambda p: p.city == "Paris",
    # a country as a code in any case or as a name, in English or as written locally
    "country:de": lambda p: p.country == "DE",
    "country:Germany OR country:États-Unis": lambda p: p.country in ("DE", "US"),
    "country:!=FRA": lambda p: p.country != "FR",
    "country:F*": lambda p: p.country.startswith("F"),
    "city:*": lambda p: bool(p.city),
    "city:new*": lambda p: p.city.startswith("New"),
    "city:*lin": lambda p: p.city.endswith("lin"),
    "city:*erl*": lambda p: "erl" in p.city,
    "email_domain:example.com": lambda p: p.email.endswith("@example.com"),
    "stage:customer": lambda p: p.stage == "customer",
    "stage:!=lead": lambda p: p.stage != "lead",
    "owner:alice": lambda p: p.owner == "alice",
    "owner:none": lambda p: p.owner == "",
    "owner:me": lambda p: p.owner == "alice",  # asked as alice
    "organization:acme*": lambda p: p.organization == "Acme Analytics",
    "industry:software": lambda p: p.organization == "Acme Analytics",
    "has:organization": lambda p: bool(p.organization),
    "has:!=address": lambda p: not p.city,
    "has:open_task": lambda p: p.open_tasks > 0,
    "last_contacted:never": lambda p: p.last_contacted is None,
    "last_contacted:>90d": lambda p: (
        p.last_contacted is not None and p.last_contacted < NOW - dt.timedelta(days=90)
    ),
    "last_contacted:<30d": lambda p: (
        p.last_contacted is not None and p.last_contacted >= NOW - dt.timedelta(days=30)
    ),
    "calls(last:90d)>=2": lambda p: _within(p.calls, 90) >= 2,
    "calls(last:90d)=0": lambda p: _within(p.calls, 90) == 0,
    "calls(last:90d)<2": lambda p: _within(p.calls, 90) < 2,
    "calls()>3": lambda p: len(p.calls) > 3,
    "calls()!=1": lambda p: len(p.calls) != 1,
    "calls()<=1": lambda p: len(p.calls) <= 1,
    "interactions(direction:in)>=1": lambda p: len(p.meetings_in) >= 1,
    "interactions(kind:meeting, last:30d)>=1": lambda p: _within(p.meetings_in, 30) >= 1,
    "interactions()>=3": lambda p: len(p.calls) + len(p.meetings_in) >= 3,
    "tasks(status:open)>=1": lambda p: p.open_tasks >= 1,
    "created:today": lambda p: True,
    "created:>today": lambda p: False,
    "created:<2000": lambda p: False,
}


def test_each_construct_selects_exactly_whom_it_says(people, alice):
    # one set of people for every case (building it is most of the time)
    wrong = []
    for text, predicate in CASES.items():
        expected = {p.pk for p in people if predicate(p)}
        found = set(query_matching(alice, text).values_list("pk", flat=True))
        if found != expected or query_count(alice, text) != len(expected):
            wrong.append(
                f"{text}: missing {sorted(expected - found)}, extra {sorted(found - expected)}"
            )
    assert wrong == []
    # the data is varied enough for the cases to mean something
    sizes = [query_count(alice, text) for text in CASES]
    assert sum(1 for n in sizes if 0 < n < len(people)) >= len(CASES) - 6


def test_a_segment_can_be_used_in_another_and_lists_too(people, alice):
    services.segment_create(actor=alice, data={"name": "VIPs", "query": "tag:vip"})
    services.segment_create(
        actor=alice, data={"name": "VIPs in Paris", "query": "in:VIPs AND city:Paris"}
    )
    expected = {p.pk for p in people if "vip" in p.tags and p.city == "Paris"}
    assert set(query_matching(alice, 'in:"VIPs in Paris"').values_list("pk", flat=True)) == expected
    chosen = services.list_create(actor=alice, data={"name": "Call back"})
    services.list_add(actor=alice, contact_list=chosen, contact_ids=[people[0].pk, people[1].pk])
    assert set(query_matching(alice, 'in:"Call back"').values_list("pk", flat=True)) == {
        people[0].pk, people[1].pk,
    }  # fmt: skip


def test_why_a_contact_is_in_a_segment(people, alice):
    person = next(p for p in people if "vip" in p.tags and p.city != "Paris")
    explained = query_explain(alice, "tag:vip AND (city:Paris OR NOT tag:vip)", person.pk)
    assert explained.holds is False
    first, group = explained.parts
    assert (first.text, first.holds) == ("tag:vip", True)
    assert group.kind == "or" and [p.holds for p in group.parts] == [False, False]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("colour:red", "There is no field “colour”"),
        ("citty:Paris", "Did you mean city"),
        ("birthday:>banana", "“banana” is not a date"),
        ("created:2024-13-40", "is not a date"),
        ("tag:nonexistent", "There is no tag “nonexistent”"),
        ("stage:boss", "stage is one of"),
        ("owner:nobody", "There is no user “nobody”"),
        ("city:>Paris", "city is text"),
        ("country:Atlantis", "“Atlantis” is not a country name or ISO 3166 code"),
        ("org_country:Atlantis", "“Atlantis” is not a country name or ISO 3166 code"),
        ("calls(last:banana)>1", "is not a date"),
        ("calls(colour:red)>1", "not colour"),
        ("gizmos()>1", "There is no count “gizmos(…)”"),
        ("calls(last:90000y)>1", "too far"),
        ("in:Nowhere", "There is no segment or list “Nowhere”"),
        ("consent:nothing", "There is no purpose “nothing”"),
        ("custom.missing:x", "There is no custom field “missing”"),
        ("has:wings", "has: takes one of"),
    ],
)
def test_bad_queries_name_the_problem(alice, text, words):
    with pytest.raises(InvalidInput) as caught:
        query_count(alice, text)
    [error] = caught.value.errors
    assert error.path == "query" and words in error.message, error.message


def test_a_segment_that_refers_to_itself_is_refused_and_nothing_is_saved(alice):
    tag_create(actor=alice, data={"name": "x"})
    a = services.segment_create(actor=alice, data={"name": "A", "query": "tag:x"})
    services.segment_create(actor=alice, data={"name": "B", "query": "in:A"})
    with pytest.raises(InvalidInput, match="refers to itself: a → b → a"):
        services.segment_update(actor=alice, segment=a, data={"query": "in:B"})
    with pytest.raises(InvalidInput, match="refers to itself"):
        services.segment_create(actor=alice, data={"name": "C", "query": "in:C"})
    a.refresh_from_db()
    assert a.query == "tag:x"
    with pytest.raises(InvalidInput, match="B refer to “A”"):
        services.segment_delete(actor=alice, segment=a)


def test_consent_reachability_and_audit_problems(alice):
    from rapport.consent.tests.support import make_purpose, record
    from rapport.contacts.services import contact_create

    make_purpose(alice, "newsletter")
    ada = make_contact(given_name="Ada", family_name="Lovelace")
    bob = make_contact(given_name="Bob", family_name="Miller")
    nobody = contact_create(actor=alice, data={"full_name": "No Email"}, via="ui")
    record(alice, ada, "grant", channel="email")

    def ids(text: str) -> set[int]:
        return set(query_matching(alice, text).values_list("pk", flat=True))

    assert ids("consent:newsletter") == {ada.pk}
    assert ids("consent:!=newsletter") == {bob.pk, nobody.pk}
    assert ids("reachable:newsletter") == {ada.pk}  # the gate: consent, preferences, hours
    record(alice, nobody, "grant", channel="email")
    assert ids("consent:newsletter") == {ada.pk, nobody.pk}
    # the gate decides on permission, not on having an address: ask for both
    assert ids("reachable:newsletter") == {ada.pk, nobody.pk}
    assert ids("reachable:newsletter AND has:email") == {ada.pk}
    from rapport.quality.services import quality_refresh

    quality_refresh()
    assert ids("problem:no_email_or_phone") == {nobody.pk}
    with pytest.raises(InvalidInput, match="problem is one of"):
        query_count(alice, "problem:ugly")
    with pytest.raises(InvalidInput, match="reachable:"):
        query_count(alice, "reachable:nothing")
