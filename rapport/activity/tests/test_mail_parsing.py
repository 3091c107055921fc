"""Real-world mail read right: charsets, encoded words, broken structure, quotes and
signatures, dates and ids."""

from __future__ import annotations

import pytest

from rapport.activity.mail.decoding import decode_bytes, decode_header
from rapport.activity.mail.parsing import Unreadable, parse_message, subject_key
from rapport.activity.mail.quotes import signature_facts, split_reply
from rapport.activity.tests.mail_fixtures import sample

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("name", "subject", "sender", "text"),
    [
        (
            "de-iso-8859-1-reply.eml",
            "AW: Angebot für die Wartungsverträge",
            "Jürgen Müller",
            "Wartungsverträge 2026",
        ),
        (
            "fr-windows-1252-signature.eml",
            "Re: Devis – éclairage du showroom",
            "Marie Dubois",
            "s’élève à 4 250 €",
        ),
        ("ru-koi8-r.eml", "Договор поставки N 17", "Иван Петров", "договор поставки на подпись"),
        ("ja-iso-2022-jp.eml", "お見積りのご依頼について", "田中 太郎", "来週中にお送りいたします"),
        ("zh-gb2312-encoded-words.eml", "产品目录和报价", "王伟", "附件是我们的产品目录"),
        (
            "es-gmail-reply.eml",
            "Re: Reserva del hotel para la feria",
            "Carlos García",
            "dos habitaciones",
        ),
    ],
)
def test_every_charset_and_encoded_word_form_reads_as_the_sender_wrote_it(
    name, subject, sender, text
):
    mail = parse_message(sample(name))
    assert mail.subject == subject
    assert mail.senders[0].name == sender
    assert text in mail.text


def test_broken_encoded_words_unknown_charsets_and_8bit_headers_never_crash():
    mail = parse_message(sample("nl-broken-multipart.eml"))
    assert mail.senders[0].name == "Sanne de Vries — Polderdata"  # raw UTF-8 in the header
    assert mail.subject.startswith("Offerte één")  # unknown charset, read as Windows-1252
    assert "De offerte is klaar" in mail.text  # unknown body charset, unterminated multipart
    assert [a.filename for a in mail.attachments] == ["offerte.pdf"]
    assert decode_header("=?no-such-charset?B?w6k=?= =?utf-8?q?caf=C3=A9?=") == "écafé"
    assert decode_bytes(b"\xff\xfe\x00garbage", "x-unheard-of")  # some text, no exception


def test_a_message_without_id_or_date_gets_a_stable_id_and_the_received_time():
    first = parse_message(sample("nl-no-message-id.eml"))
    again = parse_message(sample("nl-no-message-id.eml"))
    assert first.synthetic_id and first.message_id == again.message_id
    assert first.message_id.endswith("@synthetic.rapport.invalid")
    assert first.date_source == "received"
    assert first.sent_at.isoformat() == "2026-03-12T16:20:05+01:00"


def test_outlook_html_gives_text_inline_image_winmail_and_an_rfc2231_file_name():
    mail = parse_message(sample("en-outlook-html-winmail.eml"))
    assert mail.text == "" and "Confirmed for Thursday" in mail.html
    names = {a.filename: a for a in mail.attachments}
    assert names["image001.png"].inline and names["image001.png"].content_id.startswith(
        "image001.png@"
    )
    assert names["winmail.dat"].declared_type == "application/ms-tnef"
    assert "Grundriß Halle 2.pdf" in names


def test_an_attachment_over_the_limit_is_kept_as_name_and_size_with_a_log_line(settings, caplog):
    settings.RAPPORT_MAIL_MAX_ATTACHMENT_BYTES = 50
    mail = parse_message(sample("en-outlook-html-winmail.eml"))
    tnef = next(a for a in mail.attachments if a.filename == "winmail.dat")
    assert tnef.content is None and tnef.size == 124 and "larger than the limit" in tnef.omitted
    assert "winmail.dat" in caplog.text


def test_bytes_that_are_no_mail_are_refused_with_a_reason():
    with pytest.raises(Unreadable, match="binary"):
        parse_message(b"\x00\x01\x02\x03 not mail")
    with pytest.raises(Unreadable, match="empty"):
        parse_message(b"\r\n\r\n")


@pytest.mark.parametrize(
    ("name", "body", "quoted_start", "signature_start"),
    [
        (
            "de-iso-8859-1-reply.eml",
            "Die Preise gelten bis Ende März.\n\nMit freundlichen Grüßen",
            "Am 03.03.2026",
            "Jürgen Müller",
        ),
        ("fr-windows-1252-signature.eml", "Bien à vous,\nMarie", "Le lun. 2 mars", "Marie Dubois"),
        (
            "es-gmail-reply.eml",
            "Perfecto, reservo dos habitaciones del 20 al 23 de marzo.",
            "El lun, 9 mar",
            "Enviado desde mi iPhone",
        ),
        ("thread-2-reply.eml", "Looks good.", "-----Original Message-----", ""),
        ("thread-3-reply.eml", "Great, I will send it on.", "On Mon, 16 Mar 2026", ""),
    ],
)
def test_new_text_quoted_reply_and_signature_come_apart(name, body, quoted_start, signature_start):
    parts = split_reply(parse_message(sample(name)).text)
    assert parts.body.endswith(body)
    assert parts.quoted.startswith(quoted_start)
    assert parts.signature.startswith(signature_start)


def test_an_outlook_from_sent_block_and_gt_lines_are_quoted():
    parts = split_reply(
        "Sounds good.\n\n________________________________\nFrom: Dan\nSent: Monday\nTo: Alice\n\nOld text"
    )
    assert parts.body == "Sounds good." and parts.quoted.startswith("____")
    parts = split_reply(
        "Yes.\n\nOp ma 9 mrt 2026 om 10:00 schreef Sanne <sanne@polderdata.nl>:\n> Vraag"
    )
    assert parts.body == "Yes." and parts.quoted.startswith("Op ma")


def test_a_signature_gives_phone_title_and_company():
    facts = signature_facts(
        "Dan Brooks\nVP Operations, Northwind Traders\nMobile: +1 415 555 0134",
        sender_name="Dan Brooks",
    )
    assert (facts.phone, facts.title, facts.company) == (
        "+1 415 555 0134",
        "VP Operations",
        "Northwind Traders",
    )


def test_subject_keys_ignore_reply_and_forward_prefixes_in_many_languages():
    assert subject_key("AW: WG: Re: [ACME] Angebot") == "angebot"
    assert subject_key("回复：产品目录") == subject_key("产品目录")
    assert subject_key("RE: RE: Q2 budget") == "q2 budget"
