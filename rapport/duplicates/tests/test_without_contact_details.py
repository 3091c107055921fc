"""Duplicates among people known only by name, address and birthday (no email, no phone):
the blocking keys, a model learned by EM that keeps parents and children apart, the
model made visible, and the scan, the check at entry and the queue end to end."""

from __future__ import annotations

import datetime as dt
import json
import random
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from rapport.conftest import bearer
from rapport.contacts import services as contacts
from rapport.contacts.tests.factories import make_contact
from rapport.duplicates import services
from rapport.duplicates.matching import comparisons as cmp
from rapport.duplicates.matching.features import person_features
from rapport.duplicates.matching.keys import person_keys, stored_keys
from rapport.duplicates.matching.model import default_model, model_source
from rapport.duplicates.models import DuplicateCluster
from rapport.duplicates.scanning import candidate_pairs, scan


def person(**kw):  # type: ignore[no-untyped-def]
    return person_features(**kw)


def test_keys_meet_when_a_name_is_swapped_and_the_other_replaced():
    # FEBRL-style: the same birthday and house, names swapped and one replaced
    a = person(given_name="rily", family_name="gloster", birthday="1959-01-24",
               addresses=[("24 farrer place", "frankston", "3178", "AU")])  # fmt: skip
    b = person(given_name="gloster", family_name="mia", birthday="1959-01-24",
               addresses=[("24 farrer poace", "frankston", "3718", "AU")])  # fmt: skip
    assert person_keys(a) & person_keys(b)


def test_keys_meet_with_a_surname_typo_and_no_birthday_on_one_side():
    a = person(given_name="Heinz", family_name="Maoer")
    b = person(given_name="Heinz", family_name="Mayer", birthday="1949-07-13")
    assert person_keys(a) & person_keys(b)


def test_keys_meet_on_the_locality_when_the_postcode_is_mistyped():
    a = person(given_name="Emma", family_name="Matthews",
               addresses=[("39 Vanzetti Crescent", "Moorabbin", "5158", "AU")])  # fmt: skip
    b = person(given_name="Emma", family_name="Mattehws", birthday="1962-11-16",
               addresses=[("39 Vanzetti Crescent", "Moorabbin", "5198", "AU")])  # fmt: skip
    shared = person_keys(a) & person_keys(b)
    assert "at:moorabbin|39" in shared
    assert "at:moorabbin|39" in stored_keys(a), "the check at entry finds it too"


def test_an_address_with_a_mistyped_postcode_and_locality_is_still_the_same():
    a = person(addresses=[("11 Copland Drive", "Birmingham Gardens", "4365", "AU")])
    b = person(addresses=[("11 Coplanddrive", "Birmingha m Gardens", "4356", "AU")])
    assert cmp.ADDRESS_LEVELS[cmp.compare_address(a, b, cmp.NO_CONTEXT)] == "same"


def test_a_locality_spaced_or_mistyped_keeps_the_house():
    def level(x: tuple[str, str, str], y: tuple[str, str, str]) -> str:
        a, b = person(addresses=[(*x, "AU")]), person(addresses=[(*y, "AU")])
        return cmp.ADDRESS_LEVELS[cmp.compare_address(a, b, cmp.NO_CONTEXT)]

    spaced = ("24 Copland Drive", "Birmingham Gardens", "4365")
    assert level(spaced, ("11 Copland Drive", "Birminghamgardens", "4350")) == "same street"
    typo = ("49 Daintree Crescent", "New Farm", "4016")
    assert level(typo, ("49 Daintree Crxescent", "New Fam", "4071")) == "same"
    # a number in the locality is never a typo: Town 12 is not Town 13
    assert level(("7 Hauptstrasse", "Town 12", "10000"),
                 ("7 Hauptstrasse", "Town 13", "23456")) == "different"  # fmt: skip


def test_a_shared_village_weighs_more_than_a_shared_city():
    model = default_model(100_000)
    levels = [cmp.MISSING] * len(cmp.PERSON_COMPARISONS)
    levels[[c.name for c in cmp.PERSON_COMPARISONS].index("address")] = cmp.ADDRESS_LEVELS.index(
        "same area"
    )
    village = model.bits(levels, area_holders=3)
    city = model.bits(levels, area_holders=20_000)
    assert village > model.bits(levels) > city
    assert village - model.bits(levels) <= 4.0


def test_a_name_only_the_pair_holds_never_counts_against_them_in_a_small_database():
    levels = [cmp.MISSING] * len(cmp.PERSON_COMPARISONS)
    levels[0] = cmp.NAME_LEVELS.index("exact")
    small = default_model(1_000)
    # two records of one person hold a rare name twice: that is not a common name
    assert small.bits(levels, name_holders=2) == small.bits(levels)
    assert small.bits(levels, name_holders=40) < small.bits(levels)
    large = default_model(1_000_000)
    assert (
        large.bits(levels, name_holders=2)
        > large.bits(levels)
        > large.bits(levels, name_holders=500)
    )


# -- a population without emails or phones -------------------------------------------

GIVEN = ["anna", "paul", "maria", "hans", "julia", "peter", "sofia", "jonas", "lena",
         "felix", "clara", "emil", "nora", "oskar", "ida", "karl", "mila", "theo"]  # fmt: skip
FAMILY = ["mueller", "schmidt", "schneider", "fischer", "weber", "meyer", "wagner",
          "becker", "schulz", "hoffmann", "koch", "richter", "klein", "wolf", "neumann",
          "schwarz", "braun", "zimmermann", "krueger", "hartmann", "lange", "werner"]  # fmt: skip
STREETS = ["Hauptstrasse", "Gartenweg", "Lindenallee", "Bahnhofstrasse", "Schulstrasse"]


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def _population(seed: int = 3):  # type: ignore[no-untyped-def]
    """2,400 people by name, address and birthday; 240 duplicates (a typo or one wrong
    date part); 120 parents with a child of the same name at the same address."""
    rng = random.Random(seed)
    rows, entity = [], []
    for n in range(2_040):
        born = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(20_000))
        rows.append(
            {
                "given_name": rng.choice(GIVEN),
                "family_name": rng.choice(FAMILY),
                "birthday": born,
                "addresses": [(f"{rng.randrange(1, 80)} {rng.choice(STREETS)}",
                               f"Town {rng.randrange(60)}", f"{rng.randrange(10000, 99999)}", "DE")],
            }
        )  # fmt: skip
        entity.append(n)
    parents = []
    for n in rng.sample(range(2_040), 120):
        child = dict(rows[n])
        child["birthday"] = rows[n]["birthday"] + dt.timedelta(days=rng.randrange(8_000, 12_000))
        rows.append(child)
        entity.append(10_000 + n)
        parents.append((n, len(rows) - 1))
    for n in rng.sample(range(2_040), 240):
        copy = dict(rows[n])
        if rng.random() < 0.5:
            copy["family_name"] = _typo(copy["family_name"], rng)
        else:
            born = copy["birthday"]
            copy["birthday"] = born.replace(day=born.day % 28 + 1)
        rows.append(copy)
        entity.append(n)
    records = [person_features(id=i + 1, **row) for i, row in enumerate(rows)]
    return records, entity, parents


def test_em_learns_from_names_and_birthdays_and_keeps_parents_and_children_apart():
    records, entity, parents = _population()
    result = scan(records, model=default_model(len(records)), threshold=0.5)
    model = result.model
    assert model.learned["m_source"] == "em"
    assert model.learned["anchor_pairs"] == 0
    assert "expectation–maximisation" in model_source(model)
    # learned, not the defaults: a slip in the birthday and a typo in the surname are
    # common among this data's matches
    defaults = default_model(len(records))
    close = cmp.BIRTHDAY_LEVELS.index("close")
    assert model.m["birthday"][close] > 3 * defaults.m["birthday"][close]
    typo = cmp.NAME_LEVELS.index("typo")
    assert model.m["name"][typo] > 3 * defaults.m["name"][typo]
    generation = cmp.BIRTHDAY_LEVELS.index("another generation")
    assert model.m["birthday"][generation] == pytest.approx(defaults.m["birthday"][generation])
    found = {(p.a, p.b) for p in result.pairs}
    for parent, child in parents:
        assert (parent, child) not in found
    true = {
        (a, b)
        for a in range(len(records))
        for b in range(a + 1, len(records))
        if entity[a] == entity[b]
    }
    pairs, _, _ = candidate_pairs(records)
    blocked = {divmod(p, len(records)) for p in pairs}
    assert len(true & blocked) / len(true) >= 0.995
    assert len(found & true) / len(true) >= 0.9
    assert len(found & true) / len(found) >= 0.97


# -- end to end ----------------------------------------------------------------------


@pytest.fixture
def lotte(alice):
    """Two records of one woman (a typo, a wrong day) and her daughter of the same name."""
    address = [
        {"street": "Gartenweg 12", "locality": "Celle", "postcode": "29221", "country": "DE"}
    ]
    first = make_contact(alice, given_name="Lotte", family_name="Brinkmann",
                         birthday="1961-05-17", addresses=address)  # fmt: skip
    second = make_contact(alice, given_name="Lotte", family_name="Brinkman",
                          birthday="1961-05-19", addresses=address)  # fmt: skip
    daughter = make_contact(alice, given_name="Lotte", family_name="Brinkmann",
                            birthday="1990-02-03", addresses=address)  # fmt: skip
    return first, second, daughter


def test_a_scan_and_the_check_at_entry_find_them_without_email_or_phone(alice, alice_client, lotte):
    first, second, daughter = lotte
    call_command("dedupe", "--quiet", "--as", "alice", stdout=StringIO())
    clusters = list(DuplicateCluster.objects.filter(status="open"))
    assert [sorted(services.cluster_members(c)) for c in clusters] == [
        sorted([first.pk, second.pk])
    ]
    page = alice_client.get(f"/duplicates/{clusters[0].pk}/").content.decode()
    assert "Brinkman" in page and "1961" in page and "Birthday" in page
    answer = Client().post(
        "/api/v1/duplicates/check",
        {
            "given_name": "Lotte",
            "family_name": "Brinkmann",
            "birthday": "1961-05-17",
            "addresses": [{"street": "Gartenweg 12", "locality": "Celle", "country": "DE"}],
        },
        content_type="application/json",
        **bearer(alice),
    )
    assert answer.status_code == 200, answer.content
    ids = [c["contact_id"] for c in answer.json()["candidates"]]
    assert first.pk in ids and daughter.pk not in ids


def test_the_model_in_use_is_shown_by_the_cli_the_api_and_the_ui(alice, alice_client, lotte):
    out = StringIO()
    call_command("dedupe", "--explain-model", "--as", "alice", stdout=out)
    text = out.getvalue()
    assert text.startswith("Defaults:")
    assert "Birthday" in text and "another generation" in text and "one part differs" in text
    assert DuplicateCluster.objects.count() == 0, "explaining does not scan"
    answer = Client().get("/api/v1/duplicates/model", **bearer(alice))
    assert answer.status_code == 200
    data = answer.json()
    birthday = next(c for c in data["comparisons"] if c["field"] == "birthday")
    assert [row["level"] for row in birthday["levels"]] == list(cmp.BIRTHDAY_LEVELS)
    assert birthday["levels"][0]["weight"] > 10 > birthday["levels"][-1]["weight"]
    assert json.dumps(data["source"]).startswith('"Defaults')
    html = alice_client.get("/duplicates/model/").content.decode()
    assert "How duplicates are weighed" in html and "One part differs" in html
    assert 'href="/duplicates/model/"' in alice_client.get("/duplicates/").content.decode()


def test_the_check_at_entry_finds_a_person_whose_name_and_house_are_both_common(
    alice, alice_client
):
    house = {"street": "Gartenweg 12", "locality": "Celle", "postcode": "29221", "country": "DE"}
    drafts = [
        contacts.contact_draft(actor=alice, data={
            "given_name": f"Nachbar{n}", "family_name": f"Haus{n}", "addresses": [house]})
        for n in range(45)
    ] + [
        contacts.contact_draft(actor=alice, data={
            "given_name": "Lotte", "family_name": "Brinkmann", "addresses": [
                {"street": f"Ring {n + 1}", "locality": "Verden", "postcode": "27283",
                 "country": "DE"}]})
        for n in range(45)
    ]  # fmt: skip
    contacts.contacts_create(actor=alice, drafts=drafts)
    # saved last: the first rows of each key (name, house) hold none of her
    lotte = make_contact(alice, given_name="Lotte", family_name="Brinkmann", emails=[],
                         addresses=[house])  # fmt: skip
    answer = alice_client.post(
        "/api/v1/duplicates/check",
        {"given_name": "Lotte", "family_name": "Brinkmann", "addresses": [house]},
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.content
    ids = [c["contact_id"] for c in answer.json()["candidates"]]
    assert ids[:1] == [lotte.pk]
