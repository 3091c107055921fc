"""Each comparison on the awkward cases it exists for, and the model on hard negatives."""

from __future__ import annotations

from collections import Counter

from rapport.duplicates.matching import comparisons as cmp
from rapport.duplicates.matching.features import person_features
from rapport.duplicates.matching.keys import person_keys
from rapport.duplicates.matching.model import default_model, estimate_m

CTX = cmp.Context()


def person(**kw):
    return person_features(**kw)


def name_level(a: tuple[str, str], b: tuple[str, str]) -> str:
    level = cmp.compare_name(
        person(given_name=a[0], family_name=a[1]), person(given_name=b[0], family_name=b[1]), CTX
    )
    return "missing" if level == cmp.MISSING else cmp.NAME_LEVELS[level]


def test_names_agree_exactly_whatever_the_case_and_accents():
    assert name_level(("José", "García"), ("JOSE", "garcia")) == "exact"
    assert name_level(("王", "伟"), ("Wang", "Wei")) == "exact"


def test_swapped_given_and_family_names_are_recognised():
    assert name_level(("Wei", "Wang"), ("Wang", "Wei")) == "swapped"


def test_nicknames_count_as_the_same_given_name():
    assert name_level(("Bob", "Smith"), ("Robert", "Smith")) == "nickname"
    assert name_level(("Liz", "Taylor"), ("Elizabeth", "Taylor")) == "nickname"
    assert name_level(("Tony", "Archer"), ("Ann", "Archer")) != "nickname"


def test_typos_and_transliterations_are_close_not_exact():
    assert name_level(("Jonathan", "Smith"), ("Jonahtan", "Smith")) == "typo"
    assert name_level(("Hans", "Müller"), ("Hans", "Mueller")) == "typo"


def test_a_shortened_compound_surname_is_close():
    assert name_level(("María", "García López"), ("Maria", "Garcia")) == "typo"


def test_an_initial_matches_the_full_given_name():
    assert name_level(("J.", "Smith"), ("John", "Smith")) == "initial"


def test_different_given_names_in_one_family_say_family_only():
    assert name_level(("Anna", "Schmidt"), ("Peter", "Schmidt")) == "family only"
    assert name_level(("Anna", "Schmidt"), ("Peter", "Novak")) == "different"
    assert name_level(("", ""), ("Peter", "Novak")) == "missing"


def test_a_given_name_alone_is_compared_with_the_full_name():
    # "Dominic" with no family name is not a different person from Dominic Dixon...
    assert name_level(("Dominmic", ""), ("Dominic", "Dixon")) == "given, a family name missing"
    assert name_level(("Bob", ""), ("Robert", "Dixon")) == "given, a family name missing"
    # ...but another family name does say something against
    assert name_level(("Dominic", "Novak"), ("Dominic", "Dixon")) == "given only"
    assert name_level(("Anna", ""), ("Peter", "Dixon")) == "different"


def test_a_name_written_in_the_other_field_is_found_when_the_other_is_replaced():
    assert name_level(("Pulfrd", "Cassandra"), ("Victoria", "Pulford")) == (
        "one name, in the other field"
    )
    assert name_level(("Charlotte", "Mazurek"), ("Coulason", "Charlotte")) == (
        "one name, in the other field"
    )
    assert name_level(("Charlotte", "Mazurek"), ("Grace", "Novak")) == "different"


def test_emails_compare_as_the_provider_delivers_them():
    a = person(emails=["Jane.Doe+news@GMail.com"])
    b = person(emails=["janedoe@gmail.com"])
    assert cmp.compare_email(a, b, CTX) == 0


def test_the_same_local_part_at_another_domain_is_weaker_evidence():
    a = person(emails=["jane.doe@acme.com"])
    b = person(emails=["jane.doe@yahoo.com"])
    assert cmp.EMAIL_LEVELS[cmp.compare_email(a, b, CTX)] == "same local part"
    role_a, role_b = person(emails=["info@acme.com"]), person(emails=["info@other.org"])
    assert cmp.EMAIL_LEVELS[cmp.compare_email(role_a, role_b, CTX)] == "different"


def test_phones_agree_with_or_without_an_extension_but_not_on_two_extensions():
    plain = person(phones=[("+14155550100", "")])
    ext_12 = person(phones=[("+14155550100", "12")])
    ext_34 = person(phones=[("+14155550100", "34")])
    assert cmp.compare_phone(plain, ext_12, CTX) == 0
    assert cmp.PHONE_LEVELS[cmp.compare_phone(ext_12, ext_34, CTX)] == "other extension"


def test_a_number_many_contacts_hold_is_a_shared_line():
    a, b = person(phones=[("+14155550100", "")]), person(phones=[("+14155550100", "")])
    shared = cmp.Context(phone_holders=lambda e164: 25)
    assert cmp.PHONE_LEVELS[cmp.compare_phone(a, b, shared)] == "same shared line"


def test_addresses_agree_across_abbreviations_and_postcode_formats():
    a = person(addresses=[("221B Baker Street", "London", "NW1 6XE", "GB")])
    b = person(addresses=[("221b Baker St.", "LONDON", "nw16xe", "GB")])
    c = person(addresses=[("10 Downing Street", "London", "NW1 6XE", "GB")])
    assert cmp.ADDRESS_LEVELS[cmp.compare_address(a, b, CTX)] == "same"
    assert cmp.ADDRESS_LEVELS[cmp.compare_address(a, c, CTX)] == "same area"
    d = person(addresses=[("Hauptstraße 5", "Berlin", "10115", "DE")])
    e = person(addresses=[("Hauptstr. 5", "Berlin", "10115", "DE")])
    assert cmp.ADDRESS_LEVELS[cmp.compare_address(d, e, CTX)] == "same"


def test_birthdays_tell_slips_from_another_generation():
    def level(x: str, y: str) -> str:
        return cmp.BIRTHDAY_LEVELS[
            cmp.compare_birthday(person(birthday=x), person(birthday=y), CTX)
        ]

    assert level("1980-03-04", "1980-03-04") == "same"
    assert level("1980-03-04", "1980-04-03") == "close"
    assert level("1980-03-04", "1981-03-04") == "close"
    assert level("1980-03-04", "1980-11-04") == "one part differs"
    assert level("1980-03-04", "1980-03-15") == "one part differs"
    assert level("1980-03-04", "1985-07-20") == "different"
    assert level("1950-03-04", "1980-07-20") == "another generation"
    # one digit of the year: a slip, not a parent born on the same day
    assert level("1950-03-04", "1980-03-04") == "close"


def test_junior_and_senior_conflict():
    assert cmp.compare_generation(person(suffix="Jr."), person(suffix="Sr."), CTX) == 1
    assert cmp.compare_generation(person(suffix="Jr."), person(suffix=""), CTX) == cmp.MISSING


def test_organizations_match_without_legal_form_and_punctuation():
    a = person(organizations=["Smith & Sons, Inc."])
    b = person(organizations=["Smith and Sons"])
    assert cmp.compare_organization(a, b, CTX) == 0


# -- the model on the pairs that matter ---------------------------------------------------

MODEL = default_model(100_000)


def probability(a, b, ctx=CTX, holders=0):
    return MODEL.probability(cmp.compare(a, b, ctx), holders)


def test_the_same_person_with_a_nickname_and_a_gmail_variant_is_a_likely_duplicate():
    a = person(given_name="Robert", family_name="Miller", emails=["rob.miller@gmail.com"])
    b = person(given_name="Bob", family_name="Miller", emails=["robmiller+crm@gmail.com"])
    assert probability(a, b) > 0.95


def test_family_members_at_one_address_are_not_duplicates():
    home = [("12 Elm Street", "Springfield", "62701", "US")]
    a = person(given_name="Anna", family_name="Kowalski", addresses=home,
               phones=[("+12175550123", "")], birthday="1975-02-01",
               emails=["anna.k@gmail.com"])  # fmt: skip
    b = person(given_name="Piotr", family_name="Kowalski", addresses=home,
               phones=[("+12175550123", "")], birthday="1972-09-14",
               emails=["piotr.k@gmail.com"])  # fmt: skip
    household = cmp.Context(phone_holders=lambda e164: 3)
    assert probability(a, b, household) < 0.5


def test_a_parent_and_child_with_the_same_name_are_not_duplicates():
    home = [("12 Elm Street", "Springfield", "62701", "US")]
    a = person(given_name="John", family_name="Carter", suffix="Sr.", addresses=home,
               birthday="1950-05-05")  # fmt: skip
    b = person(given_name="John", family_name="Carter", suffix="Jr.", addresses=home,
               birthday="1982-11-30")  # fmt: skip
    assert probability(a, b) < 0.5
    # without the suffixes the birthdays alone tell them apart
    c = person(given_name="John", family_name="Carter", addresses=home, birthday="1950-05-05")
    d = person(given_name="John", family_name="Carter", addresses=home, birthday="1982-11-30")
    assert probability(c, d) < 0.5


def test_colleagues_sharing_a_switchboard_are_not_duplicates():
    a = person(given_name="Maria", family_name="Rossi", phones=[("+390212345678", "")],
               organizations=["Acme S.p.A."], emails=["m.rossi@acme.it"])  # fmt: skip
    b = person(given_name="Luca", family_name="Bianchi", phones=[("+390212345678", "")],
               organizations=["Acme"], emails=["l.bianchi@acme.it"])  # fmt: skip
    switchboard = cmp.Context(phone_holders=lambda e164: 40)
    assert probability(a, b, switchboard) < 0.01


def test_a_common_exact_name_weighs_less_than_a_rare_one():
    a, b = (
        person(given_name="John", family_name="Smith"),
        person(given_name="John", family_name="Smith"),
    )
    levels = cmp.compare(a, b, CTX)
    assert MODEL.bits(levels, name_holders=2_000) < MODEL.bits(levels, name_holders=1) - 5


def test_the_explanation_lists_every_comparison_with_its_weight():
    a = person(given_name="Ana", family_name="Silva", emails=["ana@silva.pt"])
    b = person(
        given_name="Ana", family_name="Silva", emails=["ana@silva.pt"], birthday="1990-01-01"
    )
    explanation = MODEL.explain(cmp.compare(a, b, CTX))
    by_field = {e["field"]: e for e in explanation}
    assert by_field["email"]["outcome"] == "agree" and by_field["email"]["weight"] > 10
    assert by_field["birthday"]["outcome"] == "missing" and by_field["birthday"]["weight"] == 0
    assert len(explanation) == len(cmp.PERSON_COMPARISONS)


def test_swapped_names_and_typos_still_share_a_blocking_key():
    a = person(given_name="Wei", family_name="Wang")
    b = person(given_name="Wang", family_name="Wei")
    assert person_keys(a) & person_keys(b)
    c = person(given_name="Jonh", family_name="Smith")
    d = person(given_name="John", family_name="Smith")
    assert person_keys(c) & person_keys(d)
    e = person(given_name="Bob", family_name="Smith")
    f = person(given_name="Robert", family_name="Smith")
    assert {k for k in person_keys(e) & person_keys(f) if k.startswith("n:")}


def _pattern(**levels: int) -> tuple[int, ...]:
    out = [cmp.MISSING] * len(cmp.PERSON_COMPARISONS)
    names = [c.name for c in cmp.PERSON_COMPARISONS]
    for name, level in levels.items():
        out[names.index(name)] = level
    return tuple(out)


def test_m_is_learned_from_pairs_that_share_an_email():
    exact, typo = cmp.NAME_LEVELS.index("exact"), cmp.NAME_LEVELS.index("typo")
    patterns = Counter(
        {
            _pattern(email=0, name=exact): 300,
            _pattern(email=0, name=typo): 700,  # this database is full of typos
            _pattern(address=0, name=cmp.NAME_LEVELS.index("family only")): 5000,
        }
    )
    learned = estimate_m(MODEL, patterns, candidate_pairs=6000)
    assert learned.m["name"][typo] > 0.5 > MODEL.m["name"][typo]
    # the household-like pairs (same address, other given name) taught nothing
    assert learned.m["name"][cmp.NAME_LEVELS.index("family only")] < 0.02
    assert learned.learned["m_anchor_pairs"]["name"] == 1000


def test_learning_keeps_the_defaults_when_anchors_do_not_look_like_one_person():
    different = cmp.NAME_LEVELS.index("different")
    patterns = Counter({_pattern(email=0, name=different): 500})
    learned = estimate_m(MODEL, patterns, candidate_pairs=500)
    assert learned.m == MODEL.m
    assert "m_kept" in learned.learned
