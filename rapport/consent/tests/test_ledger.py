"""The ledger as the rest of Rapport relies on it: each event one appended row, the
current state derived from it (least permissive wins), rows the database itself
refuses to change, and a hash chain that shows any change made around it."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction

from rapport.consent import services
from rapport.consent.models import ConsentChain, ConsentEvent, ConsentState, ConsentText
from rapport.consent.selectors import consent_verdict
from rapport.consent.tests.support import record, triggers_dropped
from rapport.core.errors import InvalidInput

pytestmark = pytest.mark.django_db
UTC = dt.UTC


def _now() -> dt.datetime:
    return dt.datetime.now(UTC)


def _days_ago(days: float) -> str:
    return (_now() - dt.timedelta(days=days)).isoformat()


def _allowed(contact, channel="email", purpose="newsletter", at=None) -> bool:
    return consent_verdict(
        contact_id=contact.pk, purpose=purpose, channel=channel, at=at or _now()
    ).allowed


def test_each_event_is_one_row_with_what_the_person_agreed_to(bob, ann, newsletter):
    event = record(
        bob,
        ann,
        "grant",
        channel="email",
        point="Ann@Example.com",
        method="checkbox",
        given_at="2026-01-10T09:00:00Z",
        ip_address="203.0.113.9",
        user_agent="Firefox/140",
        note="Ticked the box at the trade show stand",
    )
    row = ConsentEvent.objects.get()
    assert row.pk == event.pk and row.seq == 1
    assert row.contact_id == ann.pk and row.purpose_key == "newsletter"
    assert row.lawful_basis == "consent" and row.action == "grant" and row.method == "checkbox"
    assert row.given_at == dt.datetime(2026, 1, 10, 9, tzinfo=UTC)
    assert row.recorded_at >= row.given_at and row.recorded_by_name == "bob"
    assert row.source == "user" and row.source_ref == "bob (web)"
    text = ConsentText.objects.get(purpose=newsletter)
    assert (row.text_version, row.text_sha256) == (1, text.sha256) and len(text.sha256) == 64
    # personal evidence is kept encrypted, never in the clear
    for secret in ("203.0.113.9", "Firefox", "ann@example.com", "trade show"):
        assert secret not in row.evidence_sealed + row.point_sealed + row.note_sealed
    export = services.consent_subject_export(ann.pk)
    [seen] = export["events"]
    assert seen["point"] == "Ann@example.com"
    assert (seen["ip_address"], seen["user_agent"]) == ("203.0.113.9", "Firefox/140")
    assert seen["note"] == "Ticked the box at the trade show stand"
    assert seen["text"] == text.body and seen["hash"] == row.hash


def test_a_grant_allows_and_a_withdrawal_stops_at_once(bob, ann, newsletter):
    assert not _allowed(ann)
    record(bob, ann, "grant", given_at=_days_ago(2))
    assert all(_allowed(ann, c) for c in ("email", "sms", "post"))
    record(bob, ann, "withdraw", channel="email", given_at=_days_ago(1))
    assert not _allowed(ann, "email") and _allowed(ann, "sms")
    verdict = consent_verdict(contact_id=ann.pk, purpose="newsletter", channel="email", at=_now())
    assert verdict.rule == "consent.withdrawn" and "withdrew" in verdict.reason


def test_a_withdrawal_on_email_beats_a_grant_on_every_channel_given_at_the_same_moment(
    bob, ann, newsletter
):
    moment = _days_ago(1)
    record(bob, ann, "withdraw", channel="email", given_at=moment)
    record(bob, ann, "grant", given_at=moment)  # recorded later, given at the same moment
    assert not _allowed(ann, "email") and _allowed(ann, "sms")


def test_a_later_grant_on_one_channel_counts_after_an_earlier_withdrawal_from_all(
    bob, ann, newsletter
):
    record(bob, ann, "withdraw", given_at=_days_ago(5))
    record(bob, ann, "grant", channel="email", given_at=_days_ago(1))
    assert _allowed(ann, "email") and not _allowed(ann, "sms")
    record(bob, ann, "withdraw", given_at=_days_ago(0.5))  # "stop everything" again
    assert not _allowed(ann, "email")


def test_a_withdrawal_for_one_address_makes_the_whole_channel_withdrawn(bob, ann, newsletter):
    record(bob, ann, "grant", channel="email", given_at=_days_ago(3))
    record(
        bob, ann, "withdraw", channel="email", point="ann.lee@work.example", given_at=_days_ago(1)
    )
    verdict = consent_verdict(contact_id=ann.pk, purpose="newsletter", channel="email", at=_now())
    assert (verdict.allowed, verdict.rule) == (False, "consent.withdrawn")
    # the events were given in a different order than they were recorded: given_at counts
    record(bob, ann, "grant", channel="email", point="ann.lee@work.example", given_at=_days_ago(2))
    assert not _allowed(ann, "email")


def test_an_objection_beats_every_grant_until_it_is_lifted(bob, ann, alice):
    from rapport.consent.tests.support import make_purpose

    make_purpose(alice, "updates", lawful_basis="legitimate_interest", text="")
    record(bob, ann, "grant", purpose="updates", given_at=_days_ago(3))
    assert _allowed(ann, purpose="updates")
    record(bob, ann, "object", purpose="updates", given_at=_days_ago(2))
    record(bob, ann, "grant", purpose="updates", channel="email", given_at=_days_ago(1))
    verdict = consent_verdict(contact_id=ann.pk, purpose="updates", channel="email", at=_now())
    assert (verdict.allowed, verdict.rule) == (False, "consent.objected")
    record(bob, ann, "lift_objection", purpose="updates")
    assert _allowed(ann, purpose="updates")


def test_consent_lapses_with_the_purposes_retention_and_an_explicit_expiry(bob, ann, alice):
    from rapport.consent.tests.support import make_purpose

    make_purpose(alice, "events", retention_days=30)
    record(bob, ann, "grant", purpose="events", given_at=_days_ago(20))
    verdict = consent_verdict(contact_id=ann.pk, purpose="events", channel="email", at=_now())
    assert verdict.allowed and verdict.until is not None
    assert abs((verdict.until - (_now() + dt.timedelta(days=10))).total_seconds()) < 60
    later = _now() + dt.timedelta(days=11)
    assert consent_verdict(contact_id=ann.pk, purpose="events", channel="email", at=later).rule == (
        "consent.expired"
    )
    record(bob, ann, "expire", purpose="events")
    assert consent_verdict(
        contact_id=ann.pk, purpose="events", channel="email", at=_now()
    ).rule == ("consent.expired")


def test_a_grant_given_until_a_date_lapses_then(bob, ann, newsletter):
    until = _now() + dt.timedelta(days=2)
    record(bob, ann, "grant", given_at=_days_ago(1), valid_until=until.isoformat())
    assert _allowed(ann) and not _allowed(ann, at=until + dt.timedelta(seconds=1))


def test_the_retention_duty_writes_the_lapse_into_the_history(bob, ann, alice):
    from rapport.consent.tests.support import make_purpose

    make_purpose(alice, "events", retention_days=30)
    record(bob, ann, "grant", purpose="events", channel="email", given_at=_days_ago(40))
    record(bob, ann, "grant", purpose="events", channel="sms", given_at=_days_ago(5))
    assert services.consent_expire_lapsed() == 1
    assert services.consent_expire_lapsed() == 0  # once
    expiry = ConsentEvent.objects.get(action="expire")
    assert (expiry.channel, expiry.source, expiry.method) == ("email", "system", "system")
    states = dict(
        ConsentState.objects.filter(contact_id=ann.pk, channel__in=["email", "sms"]).values_list(
            "channel", "status"
        )
    )
    assert states == {"email": "expired", "sms": "granted"}


def test_lawful_bases_other_than_consent_need_no_grant(bob, ann, alice):
    from rapport.consent.tests.support import make_purpose

    make_purpose(alice, "billing", lawful_basis="contract", text="")
    make_purpose(alice, "offers", lawful_basis="legitimate_interest", is_marketing=True, text="")
    assert consent_verdict(
        contact_id=ann.pk, purpose="billing", channel="email", at=_now()
    ).rule == ("consent.contract")
    assert _allowed(ann, purpose="offers")
    record(bob, ann, "withdraw", purpose="billing")  # means nothing for a contract
    record(bob, ann, "withdraw", purpose="offers", channel="sms")
    assert _allowed(ann, purpose="billing") and _allowed(ann, purpose="offers")
    assert not _allowed(ann, "sms", purpose="offers")


def test_an_objection_to_direct_marketing_blocks_every_marketing_purpose(
    bob, ann, alice, newsletter
):
    from rapport.consent.tests.support import make_purpose

    make_purpose(alice, "billing", lawful_basis="contract", text="")
    record(bob, ann, "grant")
    record(bob, ann, "object_marketing", purpose=None)
    verdict = consent_verdict(contact_id=ann.pk, purpose="newsletter", channel="email", at=_now())
    assert (verdict.allowed, verdict.rule) == (False, "consent.marketing_objection")
    assert _allowed(ann, purpose="billing")
    record(bob, ann, "lift_marketing_objection", purpose=None)
    assert _allowed(ann)


def test_restriction_of_processing_blocks_every_purpose_until_lifted(bob, ann, alice, newsletter):
    from rapport.consent.tests.support import make_purpose

    make_purpose(alice, "billing", lawful_basis="contract", text="")
    record(bob, ann, "grant")
    record(bob, ann, "restrict", purpose=None, note="Disputes the accuracy of their data")
    for purpose in ("newsletter", "billing"):
        verdict = consent_verdict(contact_id=ann.pk, purpose=purpose, channel="email", at=_now())
        assert (verdict.allowed, verdict.rule) == (False, "consent.restricted")
    record(bob, ann, "lift_restriction", purpose=None)
    assert _allowed(ann) and _allowed(ann, purpose="billing")


def test_unknown_purposes_and_channels_are_refusals_not_errors(ann, newsletter):
    unknown = consent_verdict(contact_id=ann.pk, purpose="nope", channel="email", at=_now())
    assert (unknown.allowed, unknown.rule) == (False, "consent.unknown_purpose")
    channel = consent_verdict(contact_id=ann.pk, purpose="newsletter", channel="fax", at=_now())
    assert (channel.allowed, channel.rule) == (False, "consent.unknown_channel")


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"action": "grant", "method": "verbal"}, "purpose", "needs a purpose"),
        (
            {"action": "grant", "purpose": "nope", "method": "verbal"},
            "purpose",
            "no purpose “nope”",
        ),
        ({"action": "agree", "purpose": "newsletter"}, "action", "Unknown action “agree”"),
        ({"action": "grant", "purpose": "newsletter"}, "method", "how the person expressed it"),
        (
            {"action": "grant", "purpose": "newsletter", "method": "verbal", "channel": "fax"},
            "channel",
            "Unknown channel",
        ),
        (
            {
                "action": "grant",
                "purpose": "newsletter",
                "method": "verbal",
                "channel": "email",
                "point": "not an address",
            },
            "point",
            "",
        ),
        (
            {"action": "restrict", "purpose": "newsletter", "method": "verbal"},
            "purpose",
            "leave purpose empty",
        ),
        (
            {
                "action": "grant",
                "purpose": "newsletter",
                "method": "verbal",
                "given_at": "2999-01-01T00:00:00Z",
            },
            "given_at",
            "future",
        ),
        (
            {"action": "grant", "purpose": "newsletter", "method": "checkbox", "text_version": 7},
            "text_version",
            "no text version 7",
        ),
        (
            {
                "action": "confirm",
                "purpose": "newsletter",
                "method": "double_opt_in",
                "confirms": 999,
            },
            "confirms",
            "not a double opt-in request",
        ),
    ],
)
def test_bad_events_name_the_field_and_change_nothing(bob, ann, newsletter, data, field, message):
    with pytest.raises(InvalidInput) as caught:
        services.consent_record(actor=bob, contact_id=ann.pk, data=data)
    errors = caught.value.by_field()
    assert field in errors, errors
    assert message in " ".join(errors[field])
    assert not ConsentEvent.objects.exists() and not ConsentState.objects.exists()
    assert not ConsentChain.objects.filter(seq__gt=0).exists()


def test_a_read_only_user_may_not_record(charlie, ann, newsletter):
    from rapport.core.errors import NotPermitted

    with pytest.raises(NotPermitted):
        record(charlie, ann, "grant")


# ---------------------------------------------------------------- append-only


def test_the_database_refuses_to_change_a_ledger_row_even_through_the_orm(bob, ann, newsletter):
    event = record(bob, ann, "grant")
    for attempt in (
        lambda: ConsentEvent.objects.filter(pk=event.pk).update(action="withdraw"),
        lambda: ConsentEvent.objects.filter(pk=event.pk).delete(),
        lambda: ConsentText.objects.update(body="Something else"),
    ):
        with pytest.raises(IntegrityError) as caught, transaction.atomic():
            attempt()
        assert "append-only" in str(caught.value)
    event.channel = "sms"
    with pytest.raises(IntegrityError, match="cannot be changed"), transaction.atomic():
        event.save()
    with (
        pytest.raises(IntegrityError, match="cannot be deleted"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM consent_consentevent")
    assert ConsentEvent.objects.get().action == "grant"


# ---------------------------------------------------------------- the hash chain


def _chain_of_three(bob, ann):
    record(bob, ann, "grant", given_at=_days_ago(3))
    record(bob, ann, "withdraw", channel="sms", given_at=_days_ago(2))
    record(bob, ann, "grant", channel="sms", given_at=_days_ago(1))
    return list(ConsentEvent.objects.order_by("seq"))


def test_each_row_follows_the_one_before_it(bob, ann, newsletter):
    rows = _chain_of_three(bob, ann)
    assert [r.seq for r in rows] == [1, 2, 3]
    assert rows[0].prev_hash == "0" * 64
    assert [r.prev_hash for r in rows[1:]] == [r.hash for r in rows[:-1]]
    head = ConsentChain.objects.get()
    assert (head.seq, head.head_hash) == (3, rows[-1].hash)
    result = services.consent_chain_verify()
    assert result.ok and result.checked == 3


def test_verify_reports_the_first_row_changed_around_the_triggers(bob, ann, newsletter):
    rows = _chain_of_three(bob, ann)
    with triggers_dropped(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE consent_consentevent SET action = 'grant' WHERE id = %s", [rows[1].pk]
        )
    result = services.consent_chain_verify()
    assert not result.ok and result.broken.seq == 2 and result.broken.event_id == rows[1].pk
    assert "changed" in result.broken.reason
    with pytest.raises(CommandError, match=r"broken at row #2"):
        call_command("consent", "verify", "--as", "alice")


def test_verify_finds_a_removed_row_and_a_rewritten_tail(bob, ann, newsletter):
    rows = _chain_of_three(bob, ann)
    with triggers_dropped(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM consent_consentevent WHERE id = %s", [rows[1].pk])
    result = services.consent_chain_verify()
    assert result.broken.seq == 2 and "missing" in result.broken.reason


def test_verify_finds_rows_removed_from_the_end(bob, ann, newsletter):
    rows = _chain_of_three(bob, ann)
    with triggers_dropped(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM consent_consentevent WHERE id = %s", [rows[2].pk])
    result = services.consent_chain_verify()
    assert not result.ok and result.broken.seq == 3


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_never_fork_the_chain(bob, ann, newsletter):
    errors: list[BaseException] = []

    def append_some(n: int) -> None:
        try:
            for i in range(5):
                record(
                    bob, ann.pk, "grant" if i % 2 else "withdraw", channel="sms", note=f"{n}/{i}"
                )
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=append_some, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert list(ConsentEvent.objects.order_by("seq").values_list("seq", flat=True)) == list(
        range(1, 31)
    )
    assert services.consent_chain_verify().ok


# ---------------------------------------------------------------- derived state


def test_the_derived_state_is_rebuilt_from_the_ledger(bob, ann, newsletter):
    _chain_of_three(bob, ann)
    before = sorted(ConsentState.objects.values_list("contact_id", "channel", "status", "event_id"))
    ConsentState.objects.all().delete()
    assert not _allowed(ann)
    call_command("consent", "rebuild", "--as", "alice")
    after = sorted(ConsentState.objects.values_list("contact_id", "channel", "status", "event_id"))
    assert after == before and _allowed(ann)


def test_merged_contacts_consent_counts_for_the_survivor_and_goes_back_on_undo(
    bob, alice, newsletter
):
    from rapport.contacts.tests.factories import make_contact
    from rapport.merges.services import contacts_merge, merge_undo

    keep = make_contact(bob, given_name="Ann", family_name="Lee")
    other = make_contact(bob, given_name="Ann", family_name="Lee")
    record(bob, other, "grant", channel="email")
    merge = contacts_merge(actor=alice, survivor_id=keep.pk, merged_ids=[other.pk])
    assert _allowed(keep) and ConsentEvent.objects.get().contact_id == other.pk
    merge_undo(actor=alice, merge_id=merge.pk)
    assert _allowed(other) and not _allowed(keep)


def test_forgetting_a_person_shreds_their_evidence_and_the_chain_still_verifies(
    bob, ann, newsletter
):
    record(bob, ann, "grant", channel="email", point="ann@example.com", ip_address="198.51.100.7")
    counts = services.consent_subject_forget(ann.pk)
    assert counts == {"data_keys": 1, "states": 1, "ledger_rows_unreadable": 1}
    assert not _allowed(ann)
    export = services.consent_subject_export(ann.pk)
    assert export["events"] == []  # no longer theirs to show
    assert services.consent_chain_verify().ok
    row = ConsentEvent.objects.get()
    assert row.point_sealed and row.evidence_sealed  # still there, unreadable for good
