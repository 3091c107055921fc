"""A wrong birthday on one of two records against a parent and a child, a household and
a grandparent; the address and name slips of postal lists (FEBRL-style data)."""

from __future__ import annotations

import datetime as dt
import random
from io import StringIO

from django.core.management import call_command

from rapport.contacts.tests.factories import make_contact
from rapport.duplicates import services
from rapport.duplicates.matching import comparisons as cmp
from rapport.duplicates.matching.features import person_features
from rapport.duplicates.matching.model import contradicted, default_model, estimate_u
from rapport.duplicates.models import DuplicateCluster
from rapport.duplicates.scanning import scan

CTX = cmp.NO_CONTEXT
GIVEN = ["anna", "paul", "maria", "hans", "julia", "peter", "sofia", "jonas", "lena",
         "felix", "clara", "emil", "nora", "oskar", "ida", "karl", "mila", "theo"]  # fmt: skip
FAMILY = ["mueller", "schmidt", "schneider", "fischer", "weber", "meyer", "wagner",
          "becker", "schulz", "hoffmann", "koch", "richter", "klein", "wolf", "neumann"]  # fmt: skip


def person(**kw):  # type: ignore[no-untyped-def]
    return person_features(**kw)


def birthday_level(x: str, y: str) -> str:
    return cmp.BIRTHDAY_LEVELS[cmp.compare_birthday(person(birthday=x), person(birthday=y), CTX)]


def address_level(x: str, y: str) -> str:
    a = person(addresses=[(x, "Dunkeld", "2505", "AU")])
    b = person(addresses=[(y, "Dunkeld", "2505", "AU")])
    return cmp.ADDRESS_LEVELS[cmp.compare_address(a, b, CTX)]


def test_birthdays_further_apart_than_a_parent_and_a_child_are_far_apart():
    assert birthday_level("1961-05-17", "1981-05-17") == "close"  # one digit of the year
    assert birthday_level("1961-05-17", "1990-02-03") == "another generation"
    assert birthday_level("1961-05-17", "2011-12-03") == "another generation"  # 50 years
    assert birthday_level("1921-02-08", "1982-06-20") == "far apart"


def test_an_address_keeps_its_house_when_lines_swap_or_one_is_left_out():
    assert address_level("113 Audas Place\nClanville", "113 Clanville\nAudas Place") == "same"
    assert address_level("181 Limestone Avenue\nRowethorpe", "181 Rowethorpe") == "same"
    assert address_level("61 Clem Hill Street", "15 Clem Hill Street") == "same street"
    assert address_level("Sternberg Crescent", "631 Sternberg Crescent") == "same street"
    assert address_level("61 Clem Hill Street", "61 Bean Crescent") == "same area"


def test_names_swapped_with_a_typo_in_each_are_still_swapped():
    a = person(given_name="hollh", family_name="whitep")
    b = person(given_name="white", family_name="holly")
    assert cmp.NAME_LEVELS[cmp.compare_name(a, b, CTX)] == "swapped"


def _street(rng: random.Random) -> tuple[str, str, str, str]:
    return (f"{rng.randrange(1, 200)} Hauptstrasse", f"Town {rng.randrange(40)}",
            f"{rng.randrange(10000, 99999)}", "DE")  # fmt: skip


def test_a_wrong_birthday_is_found_and_parents_children_and_households_are_not():
    rng = random.Random(5)
    rows = [
        {
            "given_name": rng.choice(GIVEN),
            "family_name": rng.choice(FAMILY),
            "birthday": dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(20_000)),
            "addresses": [_street(rng)],
        }
        for _ in range(400)
    ]
    home = [("12 Gartenweg", "Celle", "29221", "DE")]
    cases = {
        # one person twice: a year off by one digit (month and day agree); a date
        # wholly wrong, 61 years off
        "year slip": ("ottilie", "brinkmann", "1961-05-17", "ottilie", "brinkmann", "1981-05-17"),
        "wrong date": ("gesine", "vogt", "1921-02-08", "gesine", "vogt", "1982-06-20"),
        # two people at one address: a mother and her son; a mother and her daughter of
        # her name; a grandmother and her grandson
        "household": ("hedwig", "kranz", "1958-03-02", "tobias", "kranz", "1988-11-23"),
        "parent and child": ("lotte", "seidel", "1950-01-10", "lotte", "seidel", "1980-07-03"),
        "grandparent": ("irmgard", "pohl", "1930-04-04", "lukas", "pohl", "1990-09-09"),
    }
    positions = {}
    for n, (case, (g1, f1, b1, g2, f2, b2)) in enumerate(cases.items()):
        address = [(f"{n + 1}{home[0][0][1:]}", *home[0][1:])]
        positions[case] = (len(rows), len(rows) + 1)
        rows.append({"given_name": g1, "family_name": f1, "birthday": b1, "addresses": address})
        rows.append({"given_name": g2, "family_name": f2, "birthday": b2, "addresses": address})
    records = [person_features(id=i + 1, **row) for i, row in enumerate(rows)]
    result = scan(records, model=default_model(len(records)), threshold=0.5)
    found = {(p.a, p.b): p for p in result.pairs}
    assert positions["year slip"] in found
    assert positions["wrong date"] in found
    assert contradicted(found[positions["wrong date"]].levels), "left for a person"
    assert not contradicted(found[positions["year slip"]].levels)
    for case in ("household", "parent and child", "grandparent"):
        assert positions[case] not in found, case


def test_strangers_far_apart_in_age_are_measured_not_assumed():
    # birthdays spread over a century: strangers are less often under 12 years apart
    # than the defaults assume, and that is what the model learns
    rng = random.Random(8)
    records = [
        person_features(id=i, given_name=rng.choice(GIVEN), family_name=rng.choice(FAMILY),
                        birthday=dt.date(1900, 1, 1) + dt.timedelta(days=rng.randrange(36_500)))
        for i in range(3_000)
    ]  # fmt: skip
    defaults = default_model(len(records))
    learned = estimate_u(defaults, records, pairs=20_000)
    different = cmp.BIRTHDAY_LEVELS.index("different")
    far = cmp.BIRTHDAY_LEVELS.index("far apart")
    assert learned.u["birthday"][different] < 0.3 < defaults.u["birthday"][different]
    assert learned.u["birthday"][far] > 0.2 > defaults.u["birthday"][far]
    # an agreement still never counts for less than the defaults say
    assert learned.u["name"][0] >= defaults.u["name"][0]


def test_the_scan_proposes_a_year_slip_and_leaves_a_household_alone(alice):
    address = [{"street": "Am Markt 3", "locality": "Verden", "postcode": "27283", "country": "DE"}]
    mother = make_contact(alice, given_name="Hedwig", family_name="Kranz",
                          birthday="1958-03-02", addresses=address)  # fmt: skip
    son = make_contact(alice, given_name="Tobias", family_name="Kranz",
                       birthday="1988-11-23", addresses=address)  # fmt: skip
    slip = make_contact(alice, given_name="Hedwig", family_name="Kranz",
                        birthday="1938-03-02", addresses=address)  # fmt: skip
    call_command("dedupe", "--quiet", "--as", "alice", stdout=StringIO())
    clusters = [sorted(services.cluster_members(c)) for c in DuplicateCluster.objects.all()]
    assert clusters == [sorted([mother.pk, slip.pk])]
    assert son.pk not in clusters[0]


def test_a_wrong_birthday_is_proposed_but_never_merged_without_a_person(alice, settings, tmp_path):
    address = [{"street": "Am Markt 3", "locality": "Verden", "postcode": "27283", "country": "DE"}]
    first = make_contact(alice, given_name="Gesine", family_name="Vogt", emails=[],
                         birthday="1921-02-08", addresses=address)  # fmt: skip
    second = make_contact(alice, given_name="Gesine", family_name="Vogt", emails=[],
                          birthday="1982-06-20", addresses=address)  # fmt: skip
    settings.RAPPORT_DUPLICATE_AUTO_MERGE = True
    settings.RAPPORT_DUPLICATE_AUTO_MERGE_THRESHOLD = 0.5
    scan = services.duplicates_scan_run(scan_id=services.duplicates_scan_create(actor=alice).pk)
    [cluster] = DuplicateCluster.objects.filter(scan=scan)
    assert services.cluster_members(cluster) == {first.pk, second.pk}
    assert cluster.status == DuplicateCluster.Status.OPEN and scan.auto_merged == 0
    pairs = tmp_path / "pairs.csv"
    call_command("dedupe", "--quiet", "--as", "alice", "--pairs-out", str(pairs), stdout=StringIO())
    assert pairs.read_text().strip().splitlines()[-1].endswith(",review")
