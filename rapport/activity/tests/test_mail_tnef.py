"""Outlook's winmail.dat (TNEF) unpacked like a mail client does: the files inside with
their names and types, the rich-text body when the message has no other, a broken one
kept as it came. The samples are written by ``tnef_writer`` (see its docstring)."""

from __future__ import annotations

import io
import logging
import struct

import pytest
from django.core.management import call_command

from rapport.activity.mail.intake import Policy, mail_capture
from rapport.activity.mail.parsing import parse_message
from rapport.activity.models import Attachment, Interaction
from rapport.activity.tests import mail_fixtures, tnef_writer
from rapport.activity.tests.mail_fixtures import DATA, sample

known = mail_fixtures.known
team = mail_fixtures.team

pytestmark = pytest.mark.django_db

RTF_MESSAGE_ID = "AM0PR07MB4131E2F0A1B2C3D4@AM0PR07MB4131.eurprd07.prod.outlook.com"


def test_the_samples_are_what_the_writer_makes():
    for name, make in tnef_writer.SAMPLES.items():
        assert sample(name) == make(), f"{name}: run python -m rapport.activity.tests.tnef_writer"


def test_the_files_inside_a_winmail_dat_come_out_with_their_real_names_and_types():
    mail = parse_message(sample("de-outlook-winmail-rtf.eml"))
    files = {a.filename: a for a in mail.attachments}
    assert list(files) == ["Angebot Q-2026-114.pdf", "Lageplan Halle Süd.png", "AGENDA.TXT"]
    assert files["Angebot Q-2026-114.pdf"].declared_type == "application/pdf"  # its MIME tag
    assert files["Lageplan Halle Süd.png"].declared_type == "image/png"  # from its name
    assert files["AGENDA.TXT"].declared_type == "text/plain"  # only an 8.3 name
    assert files["Angebot Q-2026-114.pdf"].content == tnef_writer.PDF
    assert files["Lageplan Halle Süd.png"].content == tnef_writer.PNG
    assert files["AGENDA.TXT"].content == tnef_writer.AGENDA
    assert [f.size for f in files.values()] == [
        len(tnef_writer.PDF),
        len(tnef_writer.PNG),
        len(tnef_writer.AGENDA),
    ]
    assert not mail.notes


def test_the_rich_text_body_in_winmail_dat_is_the_body_of_a_message_without_another():
    mail = parse_message(sample("de-outlook-winmail-rtf.eml"))
    assert mail.html == ""
    assert mail.text.startswith("Hallo Frau Archer,\n\nanbei wie besprochen unser Angebot")
    assert "der Lageplan für die Halle Süd." in mail.text
    assert "Mit freundlichen Grüßen\nJürgen Müller" in mail.text
    assert "\\par" not in mail.text and "Calibri" not in mail.text


def test_the_messages_own_text_wins_over_the_body_in_winmail_dat():
    mail = parse_message(sample("en-exchange-winmail-with-text.eml"))
    assert mail.text.startswith("Hi Alice,") and mail.html == ""  # not the TNEF's HTML
    [spreadsheet] = mail.attachments
    assert spreadsheet.filename == "Price list 2026.xlsx"
    assert spreadsheet.declared_type.endswith("spreadsheetml.sheet")
    assert spreadsheet.content == tnef_writer.XLSX


def test_an_html_body_in_winmail_dat_is_used_when_the_message_has_no_other():
    raw = tnef_writer.rtf_message(tnef_writer.html_sample())
    mail = parse_message(raw)
    assert "Please find the <b>price list</b> attached." in mail.html
    assert [a.filename for a in mail.attachments] == ["Price list 2026.xlsx"]


def _cut(data: bytes) -> bytes:
    """The stream cut short in the middle of the PDF's bytes."""
    return data[: data.index(b"%PDF") + 20]


def _bad_level(data: bytes) -> bytes:
    return data[:6] + b"\x07" + data[7:]


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (_cut, "runs past the end"),
        (_bad_level, "no attribute level"),
        (lambda data: b"\x00\x01" + data[2:], "does not start with the TNEF signature"),
        (lambda data: b"", "does not start with the TNEF signature"),
    ],
)
def test_a_corrupt_winmail_dat_is_kept_as_it_came_with_a_log_line_naming_the_message(
    damage, reason, caplog
):
    broken = damage(tnef_writer.rtf_sample())
    with caplog.at_level(logging.WARNING):
        mail = parse_message(tnef_writer.rtf_message(broken))
    [kept] = mail.attachments
    assert (kept.filename, kept.declared_type) == ("winmail.dat", "application/ms-tnef")
    assert kept.content == broken
    assert mail.text == "" and mail.message_id == RTF_MESSAGE_ID
    [line] = [r.getMessage() for r in caplog.records if "could not be unpacked" in r.getMessage()]
    assert line.startswith(f"Mail <{RTF_MESSAGE_ID}>: its winmail.dat (application/ms-tnef,")
    assert line.endswith(reason) or reason in line
    assert any("winmail.dat could not be unpacked" in note for note in mail.notes)


def test_a_checksum_that_does_not_match_is_noted_and_the_files_still_come_out():
    data = bytearray(tnef_writer.rtf_sample())
    # the first attribute (attTnefVersion, 4 bytes of data) ends with its checksum
    struct.pack_into("<H", data, 6 + 9 + 4, 0xBEEF)
    mail = parse_message(tnef_writer.rtf_message(bytes(data)))
    assert [a.filename for a in mail.attachments][0] == "Angebot Q-2026-114.pdf"
    assert mail.notes == ["winmail.dat: 1 part failed the TNEF checksum; unpacked anyway."]


def test_files_inside_winmail_dat_have_the_same_size_limit_as_other_attachments(settings, caplog):
    settings.RAPPORT_MAIL_MAX_ATTACHMENT_BYTES = 100  # the PDF has 125 bytes, the PNG 70
    mail = parse_message(sample("de-outlook-winmail-rtf.eml"))
    files = {a.filename: a for a in mail.attachments}
    pdf = files["Angebot Q-2026-114.pdf"]
    assert pdf.content is None and pdf.size == 125 and "larger than the limit" in pdf.omitted
    assert files["Lageplan Halle Süd.png"].content == tnef_writer.PNG
    assert "Angebot Q-2026-114.pdf" in caplog.text


def test_a_stored_message_keeps_the_unpacked_files_with_their_sniffed_types(known, team):
    outcome = mail_capture(sample("de-outlook-winmail-rtf.eml"), owner=team)
    assert outcome.status == "stored"
    mail = Interaction.objects.get(pk=outcome.interaction_id)
    assert mail.body.startswith("Hallo Frau Archer") and "Halle Süd" in mail.body
    files = {a.filename: a for a in Attachment.objects.filter(interaction=mail)}
    assert set(files) == {"Angebot Q-2026-114.pdf", "Lageplan Halle Süd.png", "AGENDA.TXT"}
    assert files["Angebot Q-2026-114.pdf"].content_type == "application/pdf"
    assert files["Lageplan Halle Süd.png"].content_type == "image/png"
    assert files["Angebot Q-2026-114.pdf"].file.read() == tnef_writer.PDF


def test_a_message_with_a_corrupt_winmail_dat_is_still_stored_with_it(known, team):
    broken = _cut(tnef_writer.rtf_sample())
    outcome = mail_capture(tnef_writer.rtf_message(broken), owner=team)
    assert outcome.status == "stored"
    mail = Interaction.objects.get(pk=outcome.interaction_id)
    [kept] = Attachment.objects.filter(interaction=mail)
    assert kept.filename == "winmail.dat" and kept.file.read() == broken
    assert any("could not be unpacked" in note for note in mail.metadata["notes"])


def test_metadata_only_lists_the_files_inside_without_keeping_them(known, team):
    outcome = mail_capture(
        sample("de-outlook-winmail-rtf.eml"), owner=team, policy=Policy.METADATA_ONLY
    )
    mail = Interaction.objects.get(pk=outcome.interaction_id)
    assert mail.body == ""
    files = Attachment.objects.filter(interaction=mail)
    assert sorted(a.filename for a in files) == [
        "AGENDA.TXT",
        "Angebot Q-2026-114.pdf",
        "Lageplan Halle Süd.png",
    ]
    assert all(a.omitted == "metadata only" and not a.file for a in files)


def test_an_imported_eml_with_winmail_dat_shows_the_files_inside(known, team, client):
    out = io.StringIO()
    call_command(
        "mail",
        "import",
        str(DATA / "de-outlook-winmail-rtf.eml"),
        "--as",
        "alice",
        "--no-progress",
        stdout=out,
    )
    assert "1 stored" in out.getvalue()
    mail = Interaction.objects.get(message_id=RTF_MESSAGE_ID)
    client.force_login(team)
    page = client.get(f"/interactions/{mail.pk}/").content.decode()
    assert "Angebot Q-2026-114.pdf" in page and "Lageplan Halle Süd.png" in page
    assert "winmail.dat" not in page
