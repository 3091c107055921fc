"""What mail_capture logs and what it leaves out: policy, never-log, bulk mail,
direction, bodies, attachments, threads, suggestions."""

from __future__ import annotations

import pytest

from rapport.activity.mail.intake import NO_KNOWN_CONTACT, Policy, mail_capture
from rapport.activity.mail.rules import never_log_add
from rapport.activity.models import (
    Attachment,
    CorrespondentSuggestion,
    Interaction,
    Participant,
    Thread,
)
from rapport.activity.tests import mail_fixtures
from rapport.activity.tests.mail_fixtures import sample
from rapport.contacts.models import Contact
from rapport.contacts.services import contact_create
from rapport.quality.models import Suggestion
from rapport.quality.services import suggestion_accept

known = mail_fixtures.known
team = mail_fixtures.team

pytestmark = pytest.mark.django_db


def test_a_reply_from_a_known_contact_is_stored_with_its_parts(known, team):
    outcome = mail_capture(sample("de-iso-8859-1-reply.eml"), owner=team)
    assert outcome.status == "stored"
    mail = Interaction.objects.get(pk=outcome.interaction_id)
    assert mail.kind == "email" and mail.direction == "inbound" and mail.two_way
    assert mail.message_id == "20260303110204.4711@bergmann-technik.de"
    assert mail.body.startswith("Hallo Frau Archer") and "schrieb" not in mail.body
    assert mail.quoted.startswith("Am 03.03.2026") and mail.signature.startswith("Jürgen Müller")
    roles = {
        (p.role, p.contact_id, p.user_id) for p in Participant.objects.filter(interaction=mail)
    }
    assert ("from", known["juergen"].pk, None) in roles and ("to", None, team.pk) in roles
    known["juergen"].refresh_from_db()
    assert known["juergen"].last_contacted_at == mail.occurred_at


def test_capturing_the_same_message_twice_stores_it_once(known, team):
    assert mail_capture(sample("ru-koi8-r.eml"), owner=team).status == "stored"
    again = mail_capture(sample("ru-koi8-r.eml"), owner=team)
    assert again.status == "joined"
    assert Interaction.objects.count() == 1 and Thread.objects.count() == 1


def test_mail_from_a_user_is_outbound(known, team):
    outcome = mail_capture(sample("thread-1-root.eml"), owner=team)
    assert Interaction.objects.get(pk=outcome.interaction_id).direction == "outbound"


def test_html_only_mail_is_sanitised_and_its_files_kept_with_the_real_type(known, team):
    outcome = mail_capture(sample("en-outlook-html-winmail.eml"), owner=team)
    mail = Interaction.objects.get(pk=outcome.interaction_id)
    assert "<script" not in mail.body_html and 'src="cid:image001.png' in mail.body_html
    assert mail.body.startswith("Hi Alice,") and "Confirmed for Thursday" in mail.body
    assert mail.quoted.startswith("From: Alice Archer")
    files = {a.filename: a for a in Attachment.objects.filter(interaction=mail)}
    assert files["Grundriß Halle 2.pdf"].content_type == "application/pdf"
    assert files["Grundriß Halle 2.pdf"].declared_type == "application/octet-stream"
    assert (
        files["image001.png"].inline and files["winmail.dat"].file.read()[:4] == b"\x78\x9f\x3e\x22"
    )


def test_html_body_scripts_never_reach_the_page(known, team):
    outcome = mail_capture(sample("zh-gb2312-encoded-words.eml"), owner=team)
    mail = Interaction.objects.get(pk=outcome.interaction_id)
    assert "alert" not in mail.body_html and "onclick" not in mail.body_html
    assert "<b>产品目录</b>" in mail.body_html


def test_without_a_known_contact_nothing_is_stored_but_the_people_are_suggested(team):
    outcome = mail_capture(sample("fr-windows-1252-signature.eml"), owner=team)
    assert (outcome.status, outcome.reason) == ("skipped", NO_KNOWN_CONTACT)
    assert not Interaction.objects.exists()
    people = {s.address_key: s for s in CorrespondentSuggestion.objects.all()}
    assert set(people) == {"marie.dubois@atelier-lumiere.fr", "projets@atelier-lumiere.fr"}
    assert people["marie.dubois@atelier-lumiere.fr"].name == "Marie Dubois"
    mail_capture(sample("fr-windows-1252-signature.eml"), owner=team)  # re-read: counted once
    assert (
        CorrespondentSuggestion.objects.get(
            address_key="marie.dubois@atelier-lumiere.fr"
        ).message_count
        == 1
    )


def test_creating_the_contact_later_links_the_waiting_participants(known, team):
    outcome = mail_capture(sample("fr-windows-1252-signature.eml"), owner=team)
    assert outcome.status == "stored"  # Marie is known; the team address is not
    contact = contact_create(
        actor=team,
        data={"full_name": "Équipe Projets", "emails": [{"address": "projets@atelier-lumiere.fr"}]},
    )
    assert Participant.objects.filter(
        interaction_id=outcome.interaction_id, contact=contact
    ).exists()
    assert (
        CorrespondentSuggestion.objects.get(address_key="projets@atelier-lumiere.fr").status
        == "created"
    )


def test_bulk_and_automated_mail_is_not_logged_and_suggests_nobody(known, team):
    for name, reason in (
        ("list-newsletter.eml", "List-Id"),
        ("fr-auto-reply.eml", "Auto-Submitted"),
    ):
        outcome = mail_capture(sample(name), owner=team)
        assert outcome.status == "skipped" and reason in outcome.reason
    assert not Interaction.objects.exists() and not CorrespondentSuggestion.objects.exists()


def test_never_log_addresses_are_left_out_and_a_message_only_with_them_is_skipped(known, team):
    never_log_add(actor=team, pattern="@bergmann-technik.de")
    outcome = mail_capture(sample("de-iso-8859-1-reply.eml"), owner=team)
    assert outcome.status == "skipped" and "never-log" in outcome.reason
    never_log_add(actor=team, pattern="projets@atelier-lumiere.fr")
    outcome = mail_capture(sample("fr-windows-1252-signature.eml"), owner=team)
    assert outcome.status == "stored"
    assert not Participant.objects.filter(address_key="projets@atelier-lumiere.fr").exists()
    assert not CorrespondentSuggestion.objects.filter(
        address_key="projets@atelier-lumiere.fr"
    ).exists()


def test_metadata_only_keeps_people_and_file_names_but_no_text_or_files(known, team):
    outcome = mail_capture(
        sample("en-outlook-html-winmail.eml"), owner=team, policy=Policy.METADATA_ONLY
    )
    mail = Interaction.objects.get(pk=outcome.interaction_id)
    assert mail.subject == "RE: Site visit" and mail.body == "" and mail.body_html == ""
    files = Attachment.objects.filter(interaction=mail)
    assert files.count() == 3 and all(a.omitted == "metadata only" and not a.file for a in files)


def test_logging_off_stores_nothing(known, team):
    assert mail_capture(sample("ru-koi8-r.eml"), owner=team, policy=Policy.OFF).status == "skipped"
    assert not Interaction.objects.exists()


def test_a_broken_message_fails_with_a_reason_and_stores_nothing(known, team):
    outcome = mail_capture(b"\x00\x01binary", owner=team)
    assert outcome.status == "failed" and "binary" in outcome.reason
    assert mail_capture(sample("nl-broken-multipart.eml"), owner=team).status == "stored"


def test_a_known_contacts_signature_becomes_suggestions_for_review(known, team):
    mail_capture(sample("en-outlook-html-winmail.eml"), owner=team)
    made = {s.field: s for s in Suggestion.objects.filter(contact=known["dan"])}
    assert made["phone"].suggested_value == "+1 415 555 0134"
    assert made["job_title"].suggested_value == "VP Operations"
    assert made["organization"].suggested_value == "Northwind Traders"
    suggestion_accept(actor=team, suggestion_id=made["job_title"].pk)
    suggestion_accept(actor=team, suggestion_id=made["phone"].pk)
    dan = Contact.objects.get(pk=known["dan"].pk)
    assert dan.job_title == "VP Operations" and dan.phones.get().e164 == "+14155550134"


def test_a_signature_suggests_nothing_the_record_already_has(known, team):
    Contact.objects.filter(pk=known["dan"].pk).update(job_title="COO")
    mail_capture(sample("en-outlook-html-winmail.eml"), owner=team)
    assert not Suggestion.objects.filter(contact=known["dan"], field="job_title").exists()


# -- threads ----------------------------------------------------------------------------


def _thread_of(message_id: str) -> int:
    return Interaction.objects.get(message_id=message_id).thread_id


def test_a_reply_chain_arriving_out_of_order_ends_in_one_thread(known, team):
    for name in ("thread-3-reply.eml", "thread-1-root.eml", "thread-2-reply.eml"):
        assert mail_capture(sample(name), owner=team).status == "stored"
    threads = {
        _thread_of(f"q2-budget-{n}@{d}")
        for n, d in (
            (1, "mail.rapport.test"),
            (2, "northwind-traders.com"),
            (3, "mail.rapport.test"),
        )
    }
    assert len(threads) == 1
    thread = Thread.objects.get()
    assert thread.message_count == 3
    assert thread.started_at.isoformat() == "2026-03-16T09:00:00+00:00"
    assert thread.last_at.isoformat() == "2026-03-16T12:00:00+00:00"


def _mail(message_id: str, subject: str, references: str = "") -> bytes:
    head = (
        "From: Dan Brooks <dan.brooks@northwind-traders.com>\r\nTo: alice@rapport.test\r\n"
        f"Subject: {subject}\r\nDate: Tue, 17 Mar 2026 09:00:00 +0000\r\nMessage-ID: <{message_id}>\r\n"
    )
    if references:
        head += f"References: {references}\r\n"
    return (head + "\r\nText.\r\n").encode()


def test_a_message_linking_two_threads_merges_them(known, team):
    mail_capture(_mail("alpha@northwind-traders.com", "Alpha"), owner=team)
    mail_capture(_mail("beta@northwind-traders.com", "Beta"), owner=team)
    assert Thread.objects.count() == 2
    mail_capture(
        _mail(
            "both@northwind-traders.com",
            "Re: Alpha",
            "<alpha@northwind-traders.com> <beta@northwind-traders.com>",
        ),
        owner=team,
    )
    assert Thread.objects.count() == 1 and Thread.objects.get().message_count == 3
    assert _thread_of("beta@northwind-traders.com") == _thread_of("alpha@northwind-traders.com")


def test_a_subject_alone_joins_only_a_reply_among_the_same_people(known, team):
    mail_capture(sample("thread-1-root.eml"), owner=team)
    mail_capture(sample("subject-only-reply.eml"), owner=team)
    assert _thread_of("no-refs-reply@northwind-traders.com") == _thread_of(
        "q2-budget-1@mail.rapport.test"
    )
    assert Thread.objects.get().message_count == 2


def test_references_that_loop_still_make_one_thread(known, team):
    mail_capture(sample("cycle-a.eml"), owner=team)
    mail_capture(sample("cycle-b.eml"), owner=team)
    assert _thread_of("loop-a@northwind-traders.com") == _thread_of("loop-b@mail.rapport.test")
    assert Thread.objects.get().message_count == 2
