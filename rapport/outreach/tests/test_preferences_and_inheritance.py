"""A person's own choices and their organization's defaults: who decides (docs/outreach.md)."""

from __future__ import annotations

import pytest

from rapport.outreach.gate import contact_gate
from rapport.outreach.services.attempts import attempt_log
from rapport.outreach.tests.conftest import every_day, local, utc

pytestmark = pytest.mark.django_db
PARIS = "Europe/Paris"
MONDAY_NOON = local(PARIS, 2026, 3, 9, 12, 0)


def decide(contact, channel="email", at=MONDAY_NOON, purpose="updates"):
    return contact_gate(contact=contact, channel=channel, purpose=purpose, at=at)


def blocking(decision):
    return [r.code for r in decision.blocking]


def test_a_refused_channel_is_never_used(make_contact):
    ann = make_contact(time_zone=PARIS, channels={"sms": "refused", "email": "preferred"})
    decision = decide(ann, "sms")
    assert not decision.allowed and decision.never
    assert blocking(decision) == ["refused"]
    assert decide(ann, "email").allowed


def test_do_not_contact_blocks_every_channel(make_contact):
    ann = make_contact(time_zone=PARIS, do_not_contact=True, note="Asked us to stop")
    for channel in ("email", "call", "post"):
        decision = decide(ann, channel)
        assert blocking(decision) == ["do_not_contact"]
        assert decision.never
    assert "Asked us to stop" in decide(ann).reasons[1].text


def test_a_firm_organization_no_calls_is_a_floor_a_person_cannot_lift(
    make_contact, make_organization
):
    acme = make_organization("Acme", channels={"call": "refused"})
    ann = make_contact(time_zone=PARIS, organization=acme, channels={"call": "allowed"})
    decision = decide(ann, "call", purpose="support")
    assert blocking(decision) == ["refused_by_organization"]
    assert "Acme refuses phone call" in decision.blocking[0].text


def test_an_overridable_organization_no_calls_is_lifted_by_the_persons_own_choice(
    make_contact, make_organization
):
    acme = make_organization("Acme", channels={"call": "refused"}, channels_overridable=True)
    ann = make_contact("Ann", time_zone=PARIS, organization=acme, channels={"call": "allowed"})
    bob = make_contact("Bob", time_zone=PARIS, organization=acme)
    assert decide(ann, "call", purpose="support").allowed
    assert blocking(decide(bob, "call", purpose="support")) == ["refused_by_organization"]


def test_only_through_procurement_blocks_people_except_marked_exceptions(
    make_contact, make_organization
):
    acme = make_organization(
        "Acme",
        do_not_contact=True,
        note="Only through procurement",
        do_not_contact_overridable=True,
    )
    buyer = make_contact("Pat Buyer", time_zone=PARIS, organization=acme, do_not_contact=False)
    engineer = make_contact("Eve Engineer", time_zone=PARIS, organization=acme)
    assert decide(buyer).allowed
    blocked = decide(engineer)
    assert blocking(blocked) == ["organization_do_not_contact"]
    assert "Only through procurement" in blocked.blocking[0].text


def test_a_person_who_left_the_organization_no_longer_inherits(
    make_contact, make_organization, alice
):
    from rapport.contacts.models import Affiliation
    from rapport.contacts.services import affiliation_update

    acme = make_organization("Acme", do_not_contact=True)
    ann = make_contact(time_zone=PARIS, organization=acme)
    assert not decide(ann).allowed
    role = Affiliation.objects.get(contact=ann)
    affiliation_update(actor=alice, affiliation=role, data={"is_current": False})
    assert decide(ann).allowed


def test_a_subsidiary_follows_the_nearest_organization_above_with_defaults(
    make_contact, make_organization, alice
):
    from rapport.outreach.services.preferences import organization_preferences_set

    group = make_organization("Acme Group", channels={"call": "refused"}, do_not_contact=False)
    france = make_organization("Acme France", parent=group)
    paris = make_organization("Acme Paris", parent=france)
    ann = make_contact("Ann", time_zone=PARIS, organization=paris)
    decision = decide(ann, "call", purpose="support")
    assert blocking(decision) == ["refused_by_organization"]
    assert "Acme Group (for Acme Paris) refuses phone call" in decision.blocking[0].text
    assert decide(ann, "email").allowed
    assert not _reachable(ann, "call") and _reachable(ann, "email")  # the bulk form agrees

    # Acme France sets defaults of its own: its people follow those, not the group's
    organization_preferences_set(
        actor=alice, organization=france, data={"channels": {"sms": "refused"}}, via="api"
    )
    assert decide(ann, "call", purpose="support").allowed
    assert blocking(decide(ann, "sms", purpose="support")) == ["refused_by_organization"]
    assert _reachable(ann, "call") and not _reachable(ann, "sms")


def _reachable(contact, channel) -> bool:
    from rapport.contacts.models import Contact
    from rapport.outreach.selectors.reachable import contacts_reachable

    found = contacts_reachable(
        Contact.objects.filter(pk=contact.pk), channel=channel, purpose="support", at=MONDAY_NOON
    )
    return found.exists()


def test_firm_organization_hours_apply_on_top_of_the_persons_own(make_contact, make_organization):
    weekdays = [
        {"day": d, "start": "09:00", "end": "17:00"} for d in ("mon", "tue", "wed", "thu", "fri")
    ]
    acme = make_organization("Acme", hours=weekdays, hours_overridable=False)
    soft = make_organization("Soft", hours=weekdays)
    evenings = every_day("18:00", "21:00")
    firm_member = make_contact("Ann", time_zone=PARIS, organization=acme, hours=evenings)
    soft_member = make_contact("Bob", time_zone=PARIS, organization=soft, hours=evenings)
    plain_member = make_contact("Cy", time_zone=PARIS, organization=soft)
    evening = local(PARIS, 2026, 3, 9, 19, 0)
    assert not decide(firm_member, at=evening).allowed
    assert decide(firm_member, at=evening).never  # the two never meet
    assert decide(soft_member, at=evening).allowed  # their own hours replace Soft's
    assert not decide(plain_member, at=evening).allowed  # they inherit Soft's
    assert decide(plain_member, at=MONDAY_NOON).allowed


def test_a_frequency_cap_waits_until_the_oldest_message_leaves_the_period(make_contact, alice):
    ann = make_contact(
        time_zone=PARIS,
        caps=[{"channel": "email", "purpose": "newsletter", "max_count": 2, "period_days": 7}],
    )
    for day in (3, 5):
        attempt_log(
            actor=alice,
            contact=ann,
            channel="email",
            purpose="newsletter",
            outcome="sent",
            at=utc(2026, 3, day, 9, 0),
        )
    blocked = decide(ann, purpose="newsletter")
    assert blocking(blocked) == ["cap_reached"]
    assert blocked.next_allowed_at == utc(2026, 3, 10, 9, 0)
    assert decide(ann, purpose="updates").allowed  # another purpose, another count
    attempt_log(
        actor=alice,
        contact=ann,
        channel="email",
        purpose="newsletter",
        outcome="blocked",
        at=utc(2026, 3, 6, 9, 0),
    )
    assert decide(ann, purpose="newsletter").next_allowed_at == utc(2026, 3, 10, 9, 0)


def test_every_step_is_reported_in_order_even_when_all_allow(make_contact):
    ann = make_contact(time_zone=PARIS)
    decision = decide(ann)
    assert decision.allowed and decision.next_allowed_at == decision.at
    assert [r.step for r in decision.reasons] == [
        "consent",
        "do_not_contact",
        "channel",
        "contact_hours",
        "legal_hours",
        "holiday",
        "frequency_cap",
        "cool_off",
    ]
    assert decision.reasons[0].text == (
        "“Updates” rests on legitimate interest and they have not objected."
    )


def test_a_persons_own_holiday_choice_keeps_public_holidays_free(make_contact):
    ann = make_contact(country="DE", time_zone="Europe/Berlin", avoid_holidays=True)
    decision = decide(ann, at=local("Europe/Berlin", 2026, 10, 3, 12, 0))  # German Unity Day
    assert blocking(decision) == ["public_holiday"]
    assert decision.next_allowed_local == local("Europe/Berlin", 2026, 10, 4, 0, 0)
