"""Reading import files: the samples real exporters write, and the files that must be refused."""

from __future__ import annotations

import codecs
import random
import tracemalloc
import zipfile
from pathlib import Path

import openpyxl
import pytest

from rapport.ingest import parsers
from rapport.ingest.mapping import is_target
from rapport.ingest.parsers import Table, UnreadableFile, detect, xlsx_parser

DATA = Path(__file__).parent / "data"


def sample(name: str, encoding: str | None = None) -> Table:
    return detect(DATA / name, name, encoding=encoding)


def rows_of(table: Table) -> list[tuple[int, dict[str, str] | None]]:
    """Rows as {header: cell} with the empty cells left out."""
    return [
        (
            n,
            None
            if cells is None
            else {h: c for h, c in zip(table.headers, cells, strict=True) if c},
        )
        for n, cells in table.rows
    ]


def write(tmp_path: Path, name: str, data: bytes | str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    return path


def refused(path: Path, encoding: str | None = None) -> str:
    with pytest.raises(UnreadableFile) as caught:
        table = detect(path, path.name, encoding=encoding)
        list(table.rows)
    return str(caught.value)


# --------------------------------------------------------------------------- CSV samples


def test_a_google_export_reads_as_utf8_without_its_byte_order_mark():
    table = sample("google_contacts.csv")
    assert (table.file_format, table.encoding, table.delimiter) == ("csv", "utf-8", ",")
    assert "byte order mark" in table.notes[0]
    assert table.headers[0] == "First Name"
    assert len(table.headers) == 36
    rows = rows_of(table)
    assert [n for n, _ in rows] == [2, 3, 4, 5]
    zoe = rows[0][1]
    assert zoe["First Name"] == "Zoë"
    assert zoe["Last Name"] == "Ångström"
    assert zoe["Notes"] == "Met at Web Summit.\nPrefers email over calls.\n\nFollow up in Q3."
    assert zoe["Labels"] == "Clients ::: Conference 2024 ::: * myContacts"
    assert rows[1][1]["Phone 1 - Value"] == "+1 415-555-0134 ::: +1 415-555-0199"
    assert rows[3][1]["Notes"] == 'Says "call before 10".'


def test_an_outlook_export_in_utf16_with_byte_order_mark_is_read():
    table = sample("outlook_contacts.csv")
    assert (table.encoding, table.delimiter) == ("utf-16-le", ",")
    assert table.headers[:3] == ["Title", "First Name", "Middle Name"]
    assert len(table.headers) == 92
    rows = rows_of(table)
    assert len(rows) == 3
    helene = rows[0][1]
    assert helene["First Name"] == "Hélène"
    assert helene["Company"] == "Société Générale de Conseil"
    assert helene["Notes"] == "Budget owner for 2025.\r\nAsk about the Lyon office."
    assert rows[2][1]["Mobile Phone"] == "(555) 010-2233"


def test_an_outlook_tab_separated_unicode_export_is_read(tmp_path):
    text = "First Name\tLast Name\tE-mail Address\r\nHélène\tDubois\th@example.fr\r\n"
    path = write(tmp_path, "contacts.txt", codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    table = detect(path, path.name)
    assert (table.encoding, table.delimiter) == ("utf-16-le", "\t")
    assert rows_of(table) == [
        (2, {"First Name": "Hélène", "Last Name": "Dubois", "E-mail Address": "h@example.fr"})
    ]


def test_utf16_big_endian_and_utf16_without_byte_order_mark_are_detected(tmp_path):
    text = "Name,Email\nJürgen,j@example.de\n"
    big = write(tmp_path, "big.csv", codecs.BOM_UTF16_BE + text.encode("utf-16-be"))
    bare = write(tmp_path, "bare.csv", text.encode("utf-16-le"))
    for path, encoding in ((big, "utf-16-be"), (bare, "utf-16-le")):
        table = detect(path, path.name)
        assert table.encoding == encoding
        assert rows_of(table) == [(2, {"Name": "Jürgen", "Email": "j@example.de"})]


def test_a_hubspot_export_keeps_every_column():
    table = sample("hubspot_export.csv")
    assert (table.encoding, table.delimiter) == ("utf-8", ",")
    assert table.headers[:4] == ["Record ID", "First Name", "Last Name", "Email"]
    rows = rows_of(table)
    assert [n for n, _ in rows] == [2, 3, 4]
    assert rows[1][1]["Lifecycle Stage"] == "Marketing Qualified Lead"
    assert "Email" not in rows[2][1]


def test_the_notes_above_a_linkedin_header_are_skipped_and_rows_keep_their_numbers():
    table = sample("linkedin_connections.csv")
    assert table.headers == [
        "First Name",
        "Last Name",
        "URL",
        "Email Address",
        "Company",
        "Position",
        "Connected On",
    ]
    assert table.header_row == 4
    assert any("Rows 1–3 come before the header" in note for note in table.notes)
    rows = rows_of(table)
    assert [n for n, _ in rows] == [5, 6, 7]
    assert rows[1][1]["Company"] == "Analytical Engines, Inc."


def test_a_windows_1252_file_with_semicolons_is_detected_and_says_it_guessed():
    table = sample("latin1_semicolon.csv")
    assert (table.encoding, table.delimiter) == ("windows-1252", ";")
    assert "guessed" in table.notes[0] and "choose another encoding" in table.notes[0]
    assert table.headers[:3] == ["Nom", "Prénom", "Société"]
    rows = rows_of(table)
    assert rows[0][1]["Remarques"] == "Commande moyenne 450 €; fidèle"
    assert rows[2][1]["Prénom"] == "José Ñuñez"
    assert rows[2][1]["Remarques"] == "Pagó 1.200 € – «urgente»"


def test_the_encoding_can_be_overridden_and_the_detected_name_is_accepted_back():
    detected = sample("latin1_semicolon.csv")
    again = sample("latin1_semicolon.csv", encoding=detected.encoding)
    assert rows_of(again) == rows_of(sample("latin1_semicolon.csv"))
    latin1 = sample("latin1_semicolon.csv", encoding="latin-1")
    assert latin1.encoding == "iso-8859-1"
    assert latin1.notes[0] == "Read as iso-8859-1, as chosen."
    # ISO-8859-1 has no euro sign: the byte 0x80 reads as a control character.
    assert rows_of(latin1)[0][1]["Remarques"] == "Commande moyenne 450 \x80; fidèle"


def test_an_unknown_encoding_name_is_refused_clearly():
    message = refused(DATA / "latin1_semicolon.csv", encoding="klingon-8")
    assert message.startswith("“klingon-8” is not a text encoding")


def test_bytes_that_do_not_decode_in_the_chosen_encoding_name_the_line():
    message = refused(DATA / "latin1_semicolon.csv", encoding="utf-8")
    assert message.startswith("line 1: the file does not read as utf-8")


def test_a_bad_byte_far_past_the_detection_window_stops_reading_at_its_line(tmp_path):
    lines = ["Name,Email"] + [f"Person {i},p{i}@example.com" for i in range(5000)]
    lines[4000] = "Ren\xe9,rene@example.com"
    body = "\n".join(lines[:4000]).encode() + b"\n" + lines[4000].encode("cp1252") + b"\n"
    path = write(tmp_path, "late.csv", body)
    table = detect(path, path.name)
    assert table.encoding == "utf-8"
    with pytest.raises(UnreadableFile, match=r"^line 4,001: the file does not read as utf-8"):
        list(table.rows)


def test_blank_and_repeated_headers_are_named_rather_than_refused(tmp_path):
    path = write(
        tmp_path, "dup.csv", "Email,,Notes,Notes,email\na@example.com,x,one,two,b@example.com\n"
    )
    table = detect(path, path.name)
    assert table.headers == ["Email", "Column 2", "Notes", "Notes (2)", "email (2)"]


def test_short_rows_are_padded_and_rows_with_extra_cells_are_reported_not_guessed(tmp_path):
    path = write(
        tmp_path,
        "ragged.csv",
        "Name,Email,Phone\nAnn,a@example.com\nBob,b@x.com,1,surprise\nCid,c@x.com,2,\n",
    )
    table = detect(path, path.name)
    rows = list(table.rows)
    assert rows[0] == (2, ["Ann", "a@example.com", ""])
    assert rows[1] == (3, None)
    assert table.take_problem(3) == (
        "Row 3 has 4 cells but the header has 3; a delimiter or quote may be out of place."
    )
    assert rows[2] == (4, ["Cid", "c@x.com", "2"])


def test_rows_are_numbered_as_a_spreadsheet_shows_them(tmp_path):
    text = 'Name,Notes\nAnn,"two\nlines"\n\nBob,one\n,\nCid,x\n'
    path = write(tmp_path, "numbers.csv", text)
    assert [n for n, _ in detect(path, path.name).rows] == [2, 4, 6]


def test_an_excel_sep_line_names_the_delimiter(tmp_path):
    path = write(tmp_path, "excel.csv", "sep=|\nName|Email\nAnn, Jr.|a@example.com\n")
    table = detect(path, path.name)
    assert (table.delimiter, table.headers) == ("|", ["Name", "Email"])
    assert rows_of(table) == [(2, {"Name": "Ann, Jr.", "Email": "a@example.com"})]


@pytest.mark.parametrize(
    ("name", "text", "delimiter"),
    [
        ("a.tsv", "Name\tCity\nAnn\tParis, France\n", "\t"),
        ("b.csv", "Name|City|Zip\nAnn|Paris|75001\nBob|Lyon|69001\n", "|"),
        ("c.csv", "Name;Notes\nAnn;likes tea, coffee\nBob;a, b, c\n", ";"),
        ("d.csv", "Email\nann@example.com\nbob@example.com\n", ","),
    ],
)
def test_the_delimiter_is_sniffed(tmp_path, name, text, delimiter):
    path = write(tmp_path, name, text)
    assert detect(path, path.name).delimiter == delimiter


# --------------------------------------------------------------------------- bad CSV input


def test_an_empty_file_is_refused(tmp_path):
    assert refused(write(tmp_path, "empty.csv", b"")) == "The file is empty."


def test_a_file_of_blank_lines_is_refused(tmp_path):
    message = refused(write(tmp_path, "blank.csv", "\n  \n\t\n"))
    assert message.startswith("The file holds no text")


def test_binary_garbage_is_refused(tmp_path):
    noise = random.Random(4).randbytes(20_000)
    assert "not a text file" in refused(write(tmp_path, "noise.csv", noise))
    controls = bytes(range(1, 9)) * 500
    assert "not a text file" in refused(write(tmp_path, "controls.csv", controls))


def test_a_csv_with_ten_thousand_columns_is_refused(tmp_path):
    header = ",".join(f"c{i}" for i in range(10_000))
    path = write(tmp_path, "wide.csv", header + "\n" + "," * 9_999 + "\n")
    assert refused(path) == "The file has 10,000 columns; at most 2,000 can be imported."


def test_a_cell_over_the_limit_is_refused_with_its_line(tmp_path):
    one_line = write(tmp_path, "long.csv", "Name,Notes\nAnn,ok\nBob," + "x" * 3_000_000 + "\n")
    assert refused(one_line) == "line 3: a cell is longer than 1,000,000 characters."
    quoted = 'Name,Notes\nAnn,"' + ("y" * 99 + "\n") * 15_000 + '"\n'
    many_lines = write(tmp_path, "quoted.csv", quoted)
    assert refused(many_lines).endswith("a cell is longer than 1,000,000 characters.")


@pytest.mark.slow
def test_a_200_mb_cell_is_refused_without_reading_it_into_memory(tmp_path):
    path = tmp_path / "huge.csv"
    with path.open("wb") as handle:
        handle.write(b"Name,Notes\nAnn,")
        block = b"z" * (1024 * 1024)
        for _ in range(200):
            handle.write(block)
        handle.write(b"\n")
    tracemalloc.start()
    try:
        message = refused(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert message == "line 2: a cell is longer than 1,000,000 characters."
    assert peak < 40 * 1024 * 1024


def test_a_missing_closing_quote_is_reported_instead_of_swallowing_the_file(tmp_path):
    rows = ["Name,Notes", 'Ann,"forgot to close'] + [f"P{i},n" for i in range(1500)]
    message = refused(write(tmp_path, "quote.csv", "\n".join(rows) + "\n"))
    assert message.startswith("line 2: a quoted cell runs over more than 1,000 lines")


def test_a_large_csv_streams_in_constant_memory(tmp_path):
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("First Name,Last Name,E-mail 1 - Value,Phone 1 - Value,Notes\n")
        for i in range(200_000):
            handle.write(
                f"Given{i},Family{i},person{i}@example.com,+44 20 7946 {i % 10000:04d},note {i}\n"
            )
    tracemalloc.start()
    try:
        table = detect(path, path.name)
        count = last = 0
        for row_number, cells in table.rows:
            assert cells is not None
            count, last = count + 1, row_number
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (count, last) == (200_000, 200_001)
    assert peak < 3 * 1024 * 1024


# --------------------------------------------------------------------------- XLSX


def test_the_first_worksheet_of_a_workbook_reads_as_a_person_sees_it():
    table = sample("contacts.xlsx")
    assert (table.file_format, table.encoding, table.delimiter) == ("xlsx", "", "")
    assert table.headers == [
        "Name",
        "Email",
        "Mobile",
        "Birthday",
        "Zip",
        "Company",
        "Tags",
        "Score",
    ]
    assert "“Contacts”" in table.notes[0] and "other 1 worksheet" in table.notes[0]
    rows = rows_of(table)
    assert [n for n, _ in rows] == [2, 3, 5]
    mei = rows[0][1]
    assert mei["Mobile"] == "4915123456789"
    assert mei["Birthday"] == "1990-02-28"
    assert mei["Zip"] == "02134"
    assert mei["Score"] == "4.5"
    olu = rows[1][1]
    assert (olu["Birthday"], olu["Score"], olu["Zip"]) == ("1975-11-03", "3", "10001")
    assert rows[2][1] == {
        "Name": "Sam Taylor",
        "Email": "sam@example.co.uk",
        "Mobile": "447700900123",
    }


def test_a_file_named_xlsx_that_is_not_a_workbook_is_refused(tmp_path):
    path = write(tmp_path, "contacts.xlsx", "Name,Email\nAnn,a@example.com\n")
    assert (
        refused(path)
        == "The file is not a valid .xlsx workbook: it is damaged or not a zip archive."
    )


def test_a_zip_that_is_not_a_workbook_is_refused(tmp_path):
    path = tmp_path / "contacts.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("contacts.csv", "Name\nAnn\n")
    assert refused(path) == "The file is a zip archive but not an Excel workbook (.xlsx)."
    ods = tmp_path / "contacts.ods"
    with zipfile.ZipFile(ods, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
    assert refused(ods).startswith("This is an OpenDocument file")


def test_an_old_xls_file_is_refused_with_what_to_do(tmp_path):
    path = write(tmp_path, "old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    assert refused(path).startswith("This is an old-style Excel file (.xls)")


def test_a_damaged_workbook_is_refused(tmp_path):
    path = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<not really xml")
    assert refused(path).startswith("The workbook could not be read")


def test_a_zip_bomb_is_refused_before_it_is_unpacked(tmp_path):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as member:
            zeros = b"0" * (1024 * 1024)
            for _ in range(40):
                member.write(zeros)
    assert path.stat().st_size < 1024 * 1024
    message = refused(path)
    assert "xl/worksheets/sheet1.xml" in message and "possible zip bomb" in message


def test_a_workbook_that_would_unpack_to_too_much_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx_parser, "MAX_UNCOMPRESSED", 1024)
    message = refused(DATA / "contacts.xlsx")
    assert "would unpack to" in message and "possible zip bomb" in message


def test_a_workbook_with_too_many_columns_is_refused(tmp_path):
    book = openpyxl.Workbook()
    book.active.append([f"c{i}" for i in range(2_100)])
    path = tmp_path / "wide.xlsx"
    book.save(path)
    assert refused(path) == "The first worksheet has 2,100 columns; at most 2,000 can be imported."


# --------------------------------------------------------------------------- vCard


def test_apple_cards_keep_grouped_labels_photos_and_folded_notes():
    table = sample("apple_contacts.vcf")
    assert (table.file_format, table.encoding, table.identity_mapping) == ("vcard", "utf-8", True)
    rows = rows_of(table)
    assert [n for n, _ in rows] == [1, 2, 3]
    johnny = rows[0][1]
    assert johnny["full_name"] == "Mr. Johnny Q. Appleseed Jr."
    assert (johnny["given_name"], johnny["family_name"], johnny["middle_name"]) == (
        "Johnny",
        "Appleseed",
        "Q.",
    )
    assert (johnny["prefix"], johnny["suffix"]) == ("Mr.", "Jr.")
    assert (johnny["emails[0].address"], johnny["emails[0].label"]) == (
        "johnny@orchard.example",
        "other",
    )
    assert (johnny["emails[1].address"], johnny["emails[1].label"]) == (
        "j.appleseed@orchard.example",
        "work",
    )
    assert (johnny["phones[0].number"], johnny["phones[0].label"]) == (
        "+1 (408) 555-0150",
        "mobile",
    )
    assert (johnny["phones[2].number"], johnny["phones[2].label"]) == (
        "+1 408 555 0177",
        "Studio line",
    )
    assert johnny["addresses[0].street"] == "1 Infinite Loop\nBuilding 4"
    assert (johnny["addresses[0].locality"], johnny["addresses[0].postcode"]) == (
        "Cupertino",
        "95014",
    )
    assert (johnny["urls[0].url"], johnny["urls[0].label"]) == (
        "https://orchard.example/johnny",
        "homepage",
    )
    assert (johnny["urls[1].url"], johnny["urls[1].label"]) == (
        "https://twitter.com/jappleseed",
        "twitter",
    )
    assert johnny["birthday"] == "1984-01-24"
    assert (johnny["organization.name"], johnny["affiliation.department"]) == (
        "Orchard Computers",
        "Design Studio",
    )
    assert johnny["job_title"] == "Industrial Designer"
    assert johnny["notes"].startswith("Prefers to meet in person. Has two kids, Ava and Leo.")
    assert johnny["notes"].endswith(
        "design week; follow up about the chair prototype.\nSecond line."
    )
    assert johnny["tags"] == "Design,Friends"
    assert johnny["external_id"] == "4E0F1C26-8A1B-4F5E-9E3A-3B2A1C0D9E8F"
    assert johnny["photo"].startswith("data:image/jpeg;base64,/9j/")
    thu = rows[1][1]
    assert "birthday" not in thu
    assert (thu["emails[0].label"], thu["emails[1].label"], thu["phones[0].label"]) == (
        "home",
        "Studio",
        "iphone",
    )
    assert thu["addresses[0].street"] == "12 Lê Lợi\nApt 5"
    assert "Card 2 (line 40): the birthday 09-02 has no year; it was left out." in table.notes
    assert any("Card 3" in note and "organization" in note for note in table.notes)


def test_every_vcard_column_but_the_photo_is_a_mapping_target():
    for name in ("apple_contacts.vcf", "contacts_v4.vcf", "outlook_qp.vcf"):
        headers = sample(name).headers
        assert [h for h in headers if not is_target(h)] == ["photo"]


def test_quoted_printable_values_are_decoded_in_the_charset_they_name():
    table = sample("outlook_qp.vcf")
    rows = rows_of(table)
    jurgen = rows[0][1]
    assert jurgen["full_name"] == "Jürgen Müller-Lüdenscheidt"
    assert (jurgen["given_name"], jurgen["family_name"], jurgen["prefix"]) == (
        "Jürgen",
        "Müller-Lüdenscheidt",
        "Herr",
    )
    assert (jurgen["organization.name"], jurgen["affiliation.department"]) == (
        "Grüße & Partner GmbH",
        "Vertrieb",
    )
    assert jurgen["job_title"] == "Geschäftsführer"
    assert jurgen["addresses[0].street"] == "Straße des 17. Juni 4"
    assert jurgen["addresses[0].locality"] == "Köln"
    assert jurgen["notes"] == "Jahresumsatz ca. 2 Mio €.\nBevorzugt Termine vormittags."
    assert (jurgen["phones[1].number"], jurgen["phones[1].label"]) == ("+49 171 5550101", "mobile")
    bjorn = rows[1][1]
    assert (bjorn["full_name"], bjorn["family_name"]) == ("Björn Åström", "Åström")


def test_vcard_4_preferred_values_come_first_and_partial_birthdays_are_noted():
    table = sample("contacts_v4.vcf")
    rows = rows_of(table)
    amelie = rows[0][1]
    assert (amelie["phones[0].number"], amelie["phones[0].label"]) == (
        "+33-6-12-34-56-78",
        "mobile",
    )
    assert (amelie["emails[0].address"], amelie["emails[0].label"]) == (
        "amelie.laurent@institut.example.fr",
        "work",
    )
    assert amelie["birthday"] == "1978-06-23"
    assert amelie["external_id"] == "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6"
    assert amelie["photo"].startswith("data:image/jpeg;base64,/9j/")
    assert amelie["tags"] == "Research,Advisors"
    rafael = rows[1][1]
    assert "birthday" not in rafael
    assert rafael["notes"] == "Birthday without a year, as vCard 4 allows."
    assert "Card 2 (line 35): the birthday “--0415” has no year; it was left out." in table.notes
    assert any(note.startswith("Not imported") and "IMPP" in note for note in table.notes)


def test_a_broken_card_is_a_failed_row_and_the_cards_around_it_still_come():
    table = sample("broken.vcf")
    rows = list(table.rows)
    assert [(n, cells is None) for n, cells in rows] == [(1, False), (2, True), (3, False)]
    problem = "Card 2 (line 7): it has no END:VCARD before the next card begins."
    assert table.row_problems[2] == problem
    assert problem in table.notes
    assert table.take_problem(2) == problem
    assert rows_of(sample("broken.vcf"))[2][1]["full_name"] == "Second Good"


def test_a_card_with_an_unreadable_line_fails_alone(tmp_path):
    text = (
        "BEGIN:VCARD\nVERSION:3.0\nFN:One\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:3.0\nFN:Two\nTHIS LINE HAS NO COLON\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:3.0\nFN:Three\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:3.0\nFN:Four\n"
    )
    table = detect(write(tmp_path, "cards.vcf", text), "cards.vcf")
    rows = list(table.rows)
    assert [n for n, cells in rows if cells is None] == [2, 4]
    assert (
        table.row_problems[2] == "Card 2 (line 5): line 8 cannot be read: “THIS LINE HAS NO COLON”."
    )
    assert table.row_problems[4] == "Card 4 (line 14): the file ends before its END:VCARD."
    assert rows[2][1][table.headers.index("full_name")] == "Three"


def test_an_8bit_windows_1252_vcard_is_detected_like_a_csv(tmp_path):
    text = "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Müller;Jürgen;;;\r\nFN:Jürgen Müller\r\nNOTE:Preis 5 € – bar\r\nEND:VCARD\r\n"
    table = detect(write(tmp_path, "export.vcf", text, "cp1252"), "export.vcf")
    assert table.encoding == "windows-1252"
    row = rows_of(table)[0][1]
    assert (row["family_name"], row["notes"]) == ("Müller", "Preis 5 € – bar")


def test_a_vcard_is_recognised_by_its_content_whatever_its_name(tmp_path):
    text = "BEGIN:VCARD\nVERSION:3.0\nFN:Ann\nEMAIL:ann@example.com\nEND:VCARD\n"
    path = write(tmp_path, "upload.txt", codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    table = detect(path, path.name)
    assert (table.file_format, table.encoding) == ("vcard", "utf-16-le")
    assert rows_of(table)[0][1] == {"full_name": "Ann", "emails[0].address": "ann@example.com"}


def test_a_vcf_without_cards_is_refused(tmp_path):
    path = write(tmp_path, "nothing.vcf", "this is not a card\n")
    assert refused(path) == "No vCard was found in the file (it has no BEGIN:VCARD line)."


# --------------------------------------------------------------------------- registry


def test_a_registered_parser_is_asked_before_the_csv_fallback(tmp_path, monkeypatch):
    class JsonLines:
        file_format = "jsonl"

        def accepts(self, *, file_name: str, head: bytes) -> bool:
            return file_name.endswith(".jsonl")

        def open(self, path: Path, *, encoding: str | None = None) -> Table:
            return Table(file_format="jsonl", headers=["full_name"], rows=iter([(1, ["Ann"])]))

    monkeypatch.setattr(parsers, "PARSERS", list(parsers.PARSERS))
    parsers.register(JsonLines())
    path = write(tmp_path, "people.jsonl", '{"name": "Ann"}\n')
    assert detect(path, path.name).file_format == "jsonl"
    assert detect(DATA / "hubspot_export.csv", "hubspot_export.csv").file_format == "csv"


def test_the_apostrophe_an_export_puts_before_formula_like_cells_is_removed(tmp_path):
    text = "Name,Phone,Notes\nAnn,'+1 415 555 0100,'tis fine\nBob,'=SUM(A1),''=kept once\n"
    path = write(tmp_path, "export.csv", text)
    assert [cells for _, cells in detect(path, path.name).rows] == [
        ["Ann", "+1 415 555 0100", "'tis fine"],
        ["Bob", "=SUM(A1)", "'=kept once"],
    ]


def test_a_file_with_only_a_header_has_columns_and_no_rows(tmp_path):
    path = write(tmp_path, "header.csv", "Name;Email;Phone\r\n")
    table = detect(path, path.name)
    assert (table.delimiter, table.headers) == (";", ["Name", "Email", "Phone"])
    assert list(table.rows) == []
