"""Exports: each format's content for awkward data, filters and selections, permissions,
streaming in chunks, the UI download, the API and the command line."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import re

import pytest
from django.core.management import CommandError, call_command
from django.http import StreamingHttpResponse
from django.test import Client
from PIL import Image

from rapport.conftest import bearer
from rapport.contacts import services
from rapport.contacts.models import Contact
from rapport.contacts.selectors import ContactFilters
from rapport.contacts.tests.factories import employ, make_contact, make_organization
from rapport.core.errors import InvalidInput, NotPermitted
from rapport.ingest import exporters
from rapport.ingest.exporters import _source, contacts_export
from rapport.ingest.exporters.cells import formula_escape, formula_unescape
from rapport.ingest.exporters.vcard import fold

NOTES = 'Met at "Café Zoë", Berlin; said:\nline two, with commas 🎉\n=cmd()'


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def awkward(alice):
    """A contact with accents, commas, semicolons, quotes, newlines, emoji and formula-like
    values, in an organization, with custom fields and ids in two other systems."""
    services.custom_field_create(
        actor=alice,
        data={
            "target": "contact",
            "key": "shoe_size",
            "label": "Shoe size",
            "field_type": "number",
        },
    )
    services.custom_field_create(
        actor=alice,
        data={
            "target": "contact",
            "key": "vip",
            "label": "VIP",
            "field_type": "boolean",
        },
    )
    contact = make_contact(
        alice,
        prefix="Dr.",
        given_name="Zoë",
        middle_name="Ångström",
        family_name='O\'Neil; Jr, "the" third',
        nickname="=cmd()",
        emails=[
            {"address": "zoe@example.com", "label": "work"},
            {"address": "-zoe@example.org", "label": "Home, private", "primary": True},
        ],
        phones=[{"number": "+1 415 555 0100 ext. 12", "label": "mobile"}],
        addresses=[
            {
                "street": "Straße 1\nHinterhaus",
                "locality": "München",
                "postcode": "80331",
                "country": "DE",
                "label": "home",
            }
        ],
        urls=[{"url": "https://social.example/@zoe", "kind": "social", "label": "Mastodon"}],
        birthday="1985-04-12",
        job_title="@lead, R&D",
        time_zone="Europe/Berlin",
        language="de",
        notes=NOTES,
        owner="alice",
        source="Old CRM",
        lifecycle_stage="customer",
        tags=["VIP", "Berlin 🐻"],
        custom_fields={"shoe_size": 38.5, "vip": True},
        external_ids=[{"source": "Old CRM", "id": "A-17"}, {"source": "Phone", "id": "+42"}],
    )
    org = make_organization(alice, name="Müller & Söhne, GmbH")
    employ(contact, org, alice, title="Chief; Wizard", department="R&D")
    return Contact.objects.get(pk=contact.pk)


def text_of(export: exporters.Export) -> str:
    return b"".join(export.chunks).decode("utf-8")


def csv_rows(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:], newline="")))


# ------------------------------------------------------------------ CSV


def test_csv_holds_every_field_under_headers_the_import_maps_back(alice, awkward):
    rows = csv_rows(text_of(contacts_export(actor=alice, file_format="csv")))
    assert len(rows) == 1
    row = {key: formula_unescape(value) for key, value in rows[0].items()}
    assert row["given_name"] == "Zoë"
    assert row["middle_name"] == "Ångström"
    assert row["family_name"] == 'O\'Neil; Jr, "the" third'
    assert row["nickname"] == "=cmd()"
    # the primary email comes first: the import makes the first one primary
    assert row["emails[0].address"] == "-zoe@example.org"
    assert row["emails[0].label"] == "Home, private"
    assert row["emails[1].address"] == "zoe@example.com"
    assert row["phones[0].number"] == "+1 415 555 0100 ext. 12"
    assert row["addresses[0].street"] == "Straße 1\nHinterhaus"
    assert row["addresses[0].country"] == "DE"
    assert row["urls[0].url"] == "https://social.example/@zoe"
    assert row["urls[0].kind"] == "social"
    assert row["tags"] == "Berlin 🐻, VIP"
    assert row["organization.name"] == "Müller & Söhne, GmbH"
    assert row["affiliation.title"] == "Chief; Wizard"
    assert row["affiliation.department"] == "R&D"
    assert row["job_title"] == "@lead, R&D"
    assert row["birthday"] == "1985-04-12"
    assert row["notes"] == NOTES
    assert row["owner"] == "alice"
    assert row["lifecycle_stage"] == "customer"
    assert row["custom_fields.shoe_size"] == "38.5"
    assert row["custom_fields.vip"] == "yes"
    assert row["external_id.Old CRM"] == "A-17"
    assert row["external_id.Phone"] == "+42"
    assert row["created_at"].startswith(str(awkward.created_at.year))


def test_csv_cells_that_a_spreadsheet_would_run_as_formulas_start_with_an_apostrophe(
    alice, awkward
):
    raw = csv_rows(text_of(contacts_export(actor=alice, file_format="csv")))[0]
    assert raw["nickname"] == "'=cmd()"
    assert raw["emails[0].address"] == "'-zoe@example.org"
    assert raw["phones[0].number"] == "'+1 415 555 0100 ext. 12"
    assert raw["job_title"] == "'@lead, R&D"
    # a signed number can name no function, cell or command: a spreadsheet needs no mark
    assert raw["external_id.Phone"] == "+42"
    dangerous = [
        v
        for v in raw.values()
        if v and v[0] in "=+-@\t\r" and not re.fullmatch(r"[+-][\d ().\-/]+", v)
    ]
    assert dangerous == []


@pytest.mark.parametrize(
    "value",
    [
        "=1+1",
        "+1 415 ext. 1",
        "-5+cmd|' /C calc'!A0",
        "+A1",
        "-(SUM(A1))",
        "@SUM(A1)",
        "\tx",
        "\rx",
        "'=x",
        "''",
        "'+",
        "'tis",
        "'",
        "",
        "plain",
    ],
)
def test_the_formula_escape_is_undone_exactly(value):
    escaped = formula_escape(value)
    assert escaped[:1] not in ("=", "+", "-", "@", "\t", "\r")
    assert formula_unescape(escaped) == value


@pytest.mark.parametrize(
    "value", ["+1 212 555 0100", "+12125550100", "+44 (20) 7946-0958", "-5", "-12.50", "+1/2"]
)
def test_signed_numbers_such_as_phone_numbers_get_no_apostrophe(value):
    assert formula_escape(value) == value
    assert formula_unescape(value) == value


def test_a_us_number_typed_without_country_code_exports_with_it_and_no_apostrophe(alice):
    make_contact(alice, given_name="Sam", phones=[{"number": "(212) 555-0100"}])
    raw = csv_rows(text_of(contacts_export(actor=alice, file_format="csv")))[0]
    assert raw["phones[0].number"] == "+12125550100"


def test_csv_columns_stretch_to_the_contact_with_the_most_values(alice):
    make_contact(alice, emails=[{"address": f"m{i}@example.com"} for i in range(4)])
    make_contact(alice, emails=[{"address": "one@example.com"}])
    header = next(
        csv.reader(io.StringIO(text_of(contacts_export(actor=alice, file_format="csv"))[1:]))
    )
    assert [h for h in header if h.startswith("emails[")][-1] == "emails[3].label"
    assert "phones[0].number" in header  # one empty column even when nobody has a phone


# ------------------------------------------------------------------ XLSX


def test_xlsx_has_the_same_columns_and_keeps_formula_like_text_as_text(alice, awkward):
    from openpyxl import load_workbook

    data = b"".join(contacts_export(actor=alice, file_format="xlsx").chunks)
    sheet = load_workbook(io.BytesIO(data)).active
    header, row = [c.value for c in sheet[1]], [c for c in sheet[2]]
    csv_header = next(
        csv.reader(io.StringIO(text_of(contacts_export(actor=alice, file_format="csv"))[1:]))
    )
    assert header == csv_header
    cells = dict(zip(header, row, strict=True))
    assert cells["nickname"].value == "=cmd()"
    assert cells["nickname"].data_type == "s"
    assert cells["notes"].value == NOTES
    assert cells["phones[0].number"].value == "+1 415 555 0100 ext. 12"


# ------------------------------------------------------------------ vCard


def unfold(text: str) -> list[str]:
    return text.replace("\r\n ", "").split("\r\n")


def test_vcard_4_escapes_text_and_uses_tel_uris(alice, awkward):
    text = text_of(contacts_export(actor=alice, file_format="vcf"))
    assert "\n" not in text.replace("\r\n", "")  # every line ends with CRLF
    lines = unfold(text)
    assert lines[:2] == ["BEGIN:VCARD", "VERSION:4.0"]
    assert 'N:O\'Neil\\; Jr\\, "the" third;Zoë;Ångström;Dr.;' in lines
    assert "NICKNAME:=cmd()" in lines
    # a label vCard has no TYPE for is an X-ABLabel on the property's group
    assert "item1.EMAIL;PREF=1:-zoe@example.org" in lines
    assert "item1.X-ABLabel:Home\\, private" in lines
    assert "EMAIL;TYPE=work:zoe@example.com" in lines
    assert "TEL;VALUE=uri;TYPE=cell;PREF=1:tel:+14155550100;ext=12" in lines
    assert "ADR;TYPE=home;PREF=1:;;Straße 1\\nHinterhaus;München;;80331;DE" in lines
    assert "BDAY:19850412" in lines
    assert "TITLE:@lead\\, R&D" in lines
    assert "ORG:Müller & Söhne\\, GmbH;R&D" in lines
    assert "X-RAPPORT-AFFILIATION-TITLE:Chief\\; Wizard" in lines
    assert "NOTE:" + NOTES.replace(",", "\\,").replace(";", "\\;").replace("\n", "\\n") in lines
    assert "CATEGORIES:Berlin 🐻,VIP" in lines
    assert "TZ:Europe/Berlin" in lines and "LANG:de" in lines
    assert 'X-RAPPORT-EXTERNAL-ID;SOURCE="Old CRM":A-17' in lines
    assert "X-RAPPORT-CUSTOM;KEY=shoe_size:38.5" in lines
    assert "X-RAPPORT-LIFECYCLE-STAGE:customer" in lines
    assert "item2.URL;PREF=1:https://social.example/@zoe" in lines
    assert "item2.X-ABLabel:Mastodon" in lines
    assert "item2.X-RAPPORT-URL-KIND:social" in lines
    assert lines[-2:] == ["END:VCARD", ""]


def test_vcard_3_uses_type_pref_and_plain_numbers(alice, awkward):
    lines = unfold(text_of(contacts_export(actor=alice, file_format="vcf3")))
    assert "VERSION:3.0" in lines
    assert "TEL;TYPE=cell;TYPE=pref:+14155550100 ext. 12" in lines
    assert "BDAY:1985-04-12" in lines
    assert "X-RAPPORT-LANGUAGE:de" in lines
    assert "TZ;VALUE=text:Europe/Berlin" in lines


def test_the_uid_of_a_contact_is_the_same_in_every_export(alice, awkward):
    def uid() -> str:
        text = text_of(contacts_export(actor=alice, file_format="vcf"))
        return re.search(r"^UID:(.+)$", text, re.M).group(1).strip()

    first = uid()
    assert re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", first)
    services.contact_update(actor=alice, contact=awkward, data={"nickname": "Zo"}, partial=True)
    assert uid() == first


def test_vcard_lines_are_folded_at_75_octets_without_splitting_characters(alice):
    make_contact(alice, notes="ä" * 200 + " 🎉" * 40)
    data = b"".join(contacts_export(actor=alice, file_format="vcf").chunks)
    lines = data.split(b"\r\n")
    assert max(len(line) for line in lines) <= 75
    for line in lines:
        line.decode("utf-8")  # no line ends inside a character
    note = data.decode().replace("\r\n ", "").split("\r\n")
    assert "NOTE:" + "ä" * 200 + " 🎉" * 40 in note


def test_fold_leaves_short_lines_alone():
    card = b"BEGIN:VCARD\r\nFN:Ada\r\nEND:VCARD\r\n"
    assert fold(card) is card


def test_a_photo_is_inline_in_both_vcard_versions(alice):
    contact = make_contact(alice)
    out = io.BytesIO()
    Image.new("RGB", (40, 40), (10, 20, 30)).save(out, format="PNG")
    out.seek(0)
    services.contact_photo_set(actor=alice, contact=contact, upload=out)
    v4 = "".join(unfold(text_of(contacts_export(actor=alice, file_format="vcf"))))
    v3 = "".join(unfold(text_of(contacts_export(actor=alice, file_format="vcf3"))))
    data4 = re.search(r"PHOTO:data:image/jpeg;base64,([A-Za-z0-9+/=]+)", v4).group(1)
    data3 = re.search(r"PHOTO;ENCODING=b;TYPE=JPEG:([A-Za-z0-9+/=]+)", v3).group(1)
    assert base64.b64decode(data4)[:2] == b"\xff\xd8" and data3 == data4


# ------------------------------------------------------------------ JSON


def test_json_is_an_array_of_the_api_representation(alice, awkward):
    make_contact(alice, given_name="Second")
    items = json.loads(text_of(contacts_export(actor=alice, file_format="json", chunk_size=1)))
    assert [i["given_name"] for i in items] == ["Zoë", "Second"]
    first = items[0]
    assert first["notes"] == NOTES
    assert first["external_ids"] == [
        {"source": "Old CRM", "id": "A-17"},
        {"source": "Phone", "id": "+42"},
    ]
    assert first["affiliations"][0]["organization"]["name"] == "Müller & Söhne, GmbH"
    assert first["birthday"] == "1985-04-12"


def test_json_of_nothing_is_an_empty_array(alice):
    assert json.loads(text_of(contacts_export(actor=alice, file_format="json"))) == []


# ------------------------------------------------------------------ what is exported


def names(text: str) -> list[str]:
    return sorted(row["given_name"] for row in csv_rows(text))


def test_filters_search_and_selection_narrow_the_export(alice):
    ada = make_contact(alice, given_name="Ada", family_name="Lovelace", tags=["math"])
    make_contact(alice, given_name="Grace", family_name="Hopper", tags=["navy"])
    make_contact(
        alice, given_name="Alan", family_name="Turing", tags=["math"], lifecycle_stage="partner"
    )
    export = lambda **kw: names(text_of(contacts_export(actor=alice, file_format="csv", **kw)))  # noqa: E731
    assert export() == ["Ada", "Alan", "Grace"]
    assert export(filters=ContactFilters(tags=["math"])) == ["Ada", "Alan"]
    assert export(filters=ContactFilters(tags=["math"], lifecycle_stage="partner")) == ["Alan"]
    assert export(q="hopper") == ["Grace"]
    assert export(q="lo") == ["Ada"]  # short searches match name starts, as on the list
    assert export(ids=[ada.pk]) == ["Ada"]
    assert export(ids=[ada.pk], filters=ContactFilters(tags=["navy"])) == []


def test_an_unknown_format_or_a_huge_selection_is_refused(alice):
    with pytest.raises(InvalidInput) as exc:
        contacts_export(actor=alice, file_format="pdf")
    assert exc.value.errors[0].path == "format"
    with pytest.raises(InvalidInput):
        contacts_export(actor=alice, file_format="csv", ids=list(range(1, 10_002)))


def test_everyone_who_can_read_contacts_can_export_them(alice, bob, charlie):
    make_contact(alice)
    for user in (alice, bob, charlie):
        assert len(csv_rows(text_of(contacts_export(actor=user, file_format="csv")))) == 1
    charlie.is_active = False
    with pytest.raises(NotPermitted):
        contacts_export(actor=charlie, file_format="csv")


def test_a_large_export_reads_the_contacts_a_chunk_at_a_time(alice, monkeypatch):
    for _ in range(7):
        make_contact(alice)
    chunks_seen: list[int] = []
    original = _source._records

    def spy(ids: list[int]):
        chunks_seen.append(len(ids))
        return original(ids)

    monkeypatch.setattr(_source, "_records", spy)
    stream = contacts_export(actor=alice, file_format="vcf", chunk_size=3).chunks
    first = next(stream)
    assert first.count(b"BEGIN:VCARD") == 3 and chunks_seen == [3]  # no more read yet
    rest = b"".join(stream)
    assert chunks_seen == [3, 3, 1]
    assert (first + rest).count(b"BEGIN:VCARD") == 7


def test_the_number_of_queries_does_not_grow_with_the_rows(alice):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries(file_format: str) -> int:
        with CaptureQueriesContext(connection) as context:
            b"".join(contacts_export(actor=alice, file_format=file_format).chunks)
        return len(context)

    def add(n: int) -> None:
        for i in range(n):
            make_contact(alice, tags=[f"t{i % 3}"], phones=[{"number": f"+1 415 555 01{i:02d}"}])

    add(10)
    before = {f: queries(f) for f in exporters.FORMATS}
    add(30)
    assert {f: queries(f) for f in exporters.FORMATS} == before
    assert before["csv"] <= 15 and before["vcf"] <= 9


@pytest.mark.parametrize("file_format", ["csv", "vcf", "vcf3"])
def test_a_large_export_written_by_a_second_process_has_the_same_bytes(alice, awkward, file_format):
    for i in range(6):
        make_contact(alice, tags=[f"t{i}"], phones=[{"number": f"+1 415 555 01{i:02d}"}])

    def export(serial_chunks: int) -> bytes:
        return b"".join(
            contacts_export(
                actor=alice, file_format=file_format, chunk_size=2, serial_chunks=serial_chunks
            ).chunks
        )

    in_one_process = export(serial_chunks=1000)
    assert export(serial_chunks=1) == in_one_process
    assert export(serial_chunks=0) == in_one_process
    assert in_one_process.count(b"Zo\xc3\xab") >= 1


def test_an_error_in_the_writer_process_is_raised_in_the_export():
    from rapport.ingest.exporters._pipeline import written

    def write(chunk: tuple) -> bytes:
        if chunk[0] == 3:
            raise ValueError("no threes")
        return str(chunk[0]).encode()

    stream = written([(i,) for i in range(6)], write, serial_chunks=1)
    assert [next(stream), next(stream), next(stream)] == [b"0", b"1", b"2"]
    with pytest.raises(RuntimeError, match="ValueError: no threes"):
        next(stream)


def test_csv_text_is_what_csv_writer_writes_with_formulas_escaped():
    from rapport.ingest.exporters.tabular import csv_text

    awkward_cells = [
        "",
        "plain",
        "a,b",
        'say "hi"',
        "two\nlines",
        "cr\rlf\r\n",
        "=cmd()",
        "+1 415",
        "-5",
        "@x",
        "\tx",
        "'=x",
        "''",
        "'tis",
        "unit\x1fseparator",
        "=a,b",
        "Zoë 🎉",
    ]
    rows = [[a, b] for a in awkward_cells for b in awkward_cells] + [[""], []]
    rows += [[c] for c in awkward_cells] + [awkward_cells]
    expected = io.StringIO()
    writer = csv.writer(expected, lineterminator="\r\n")
    for row in rows:
        writer.writerow([formula_escape(cell) for cell in row])
    assert csv_text([list(row) for row in rows]) == expected.getvalue()


def test_the_uid_is_a_uuid5_of_the_contact_id_and_creation_time():
    import uuid

    from rapport.ingest.exporters.vcard import _UID_NAMESPACE, contact_uid

    for contact_id, created in [(1, "2025-01-02T03:04:05+00:00"), (987654, "x.123456")]:
        name = f"contact:{contact_id}:{created}"
        expected = "urn:uuid:" + str(uuid.uuid5(_UID_NAMESPACE, name))
        assert contact_uid(contact_id, created) == expected


# ------------------------------------------------------------------ UI, API, CLI


def test_the_ui_streams_the_filtered_list_as_a_download(alice, alice_client: Client):
    make_contact(alice, given_name="Ada", tags=["math"])
    make_contact(alice, given_name="Grace", tags=["navy"])
    response = alice_client.get("/contacts/export/", {"format": "csv", "tag": "math"})
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="contacts-\d{8}-\d{4}\.csv"', response["Content-Disposition"]
    )
    assert names(b"".join(response.streaming_content).decode()) == ["Ada"]


def test_the_ui_exports_a_selection_and_reports_bad_filters(alice, alice_client: Client):
    ada = make_contact(alice, given_name="Ada")
    make_contact(alice, given_name="Grace")
    response = alice_client.get("/contacts/export/", {"format": "vcf", "id": ada.pk})
    body = b"".join(response.streaming_content).decode()
    assert body.count("BEGIN:VCARD") == 1 and "FN:Ada" in body
    bad = alice_client.get("/contacts/export/", {"format": "csv", "lifecycle_stage": "nope"})
    assert bad.status_code == 400 and "lifecycle_stage" in bad.content.decode()


def test_signed_out_visitors_cannot_export(alice):
    make_contact(alice)
    response = Client().get("/contacts/export/", {"format": "csv"})
    assert response.status_code == 302


def test_the_contact_list_offers_an_export_of_what_it_shows(alice, alice_client: Client):
    page = alice_client.get("/contacts/", {"q": "ada", "tag": "math"}).content.decode()
    for file_format in ("csv", "xlsx", "vcf", "vcf3", "json"):
        assert re.search(rf'href="/contacts/export/\?[^"]*format={file_format}[^"]*"', page), (
            file_format
        )
    # The navigation's "Export all contacts" link is on every page; the list's own
    # export carries its search and filters.
    links = re.findall(r'href="(/contacts/export/\?[^"]*format=csv[^"]*)"', page)
    assert any("q=ada" in link and "tag=math" in link for link in links), links


@pytest.mark.parametrize(
    ("file_format", "content_type"),
    [
        ("csv", "text/csv; charset=utf-8"),
        ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("vcf", "text/vcard; charset=utf-8"),
        ("vcf3", "text/vcard; charset=utf-8"),
        ("json", "application/json"),
    ],
)
def test_the_api_returns_each_format_with_its_media_type(charlie, file_format, content_type):
    make_contact(
        charlie.__class__.objects.get_or_create(username="factory", defaults={"role": "admin"})[0]
    )
    response = Client().get("/api/v1/exports/contacts", {"format": file_format}, **bearer(charlie))
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"].endswith(
        f'.{"vcf" if "vcf" in file_format else file_format}"'
    )
    assert b"".join(response.streaming_content)


def test_the_api_filters_and_explains_bad_input(alice):
    ada = make_contact(alice, given_name="Ada", tags=["math"])
    make_contact(alice, given_name="Grace")
    auth = bearer(alice)
    body = lambda r: b"".join(r.streaming_content).decode()  # noqa: E731
    response = Client().get("/api/v1/exports/contacts", {"format": "json", "tag": "math"}, **auth)
    assert [c["id"] for c in json.loads(body(response))] == [ada.pk]
    response = Client().get("/api/v1/exports/contacts", {"format": "json", "id": [ada.pk]}, **auth)
    assert [c["id"] for c in json.loads(body(response))] == [ada.pk]
    bad = Client().get("/api/v1/exports/contacts", {"format": "pdf"}, **auth)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "format"
    assert Client().get("/api/v1/exports/contacts").status_code == 401


def test_the_command_writes_a_file_or_standard_output(alice, tmp_path):
    make_contact(alice, given_name="Ada", tags=["math"])
    make_contact(alice, given_name="Grace")
    target = tmp_path / "out.csv"
    err = io.StringIO()
    call_command(
        "export",
        "--as",
        "alice",
        "--format",
        "csv",
        "--tag",
        "math",
        "--output",
        str(target),
        stderr=err,
    )
    assert names(target.read_bytes().decode()) == ["Ada"]
    assert "Wrote" in err.getvalue()
    out = io.StringIO()
    call_command("export", "--as", "alice", "--format", "vcf3", "--query", "grace", stdout=out)
    assert out.getvalue().count("BEGIN:VCARD") == 1 and "FN:Grace" in out.getvalue()


def test_the_command_refuses_users_who_may_not_export(alice):
    alice.is_active = False
    alice.save()
    with pytest.raises(CommandError):
        call_command("export", "--as", "alice", "--format", "csv", stdout=io.StringIO())


def test_the_file_name_carries_the_date(alice):
    export = contacts_export(
        actor=alice, file_format="vcf3", now=dt.datetime(2024, 5, 6, 7, 8, tzinfo=dt.UTC)
    )
    assert export.filename.startswith("contacts-20240506-") and export.filename.endswith(".vcf")


# ------------------------------------------------------------------ round trip


def _people(alice, family_name: str) -> None:
    """Awkward people for the round trip: accents, separators, newlines, emoji, formulas."""
    services.custom_field_create(
        actor=alice,
        data={
            "target": "contact",
            "key": "shoe_size",
            "label": "Shoe size",
            "field_type": "number",
        },
    )
    org = make_organization(alice, name="Müller & Söhne, GmbH")
    zoe = make_contact(
        alice,
        prefix="Dr.",
        given_name="Zoë",
        family_name=family_name,
        nickname="=cmd()",
        emails=[
            {"address": "zoe@example.com", "label": "work", "primary": True},
            {"address": "-zoe@example.org", "label": "Home, private"},
        ],
        phones=[
            {"number": "+1 415 555 0100 ext. 12", "label": "mobile"},
            {"number": "+49 30 901820", "label": "Büro; Zentrale"},
        ],
        addresses=[
            {
                "street": "Straße 1\nHinterhaus",
                "locality": "München",
                "region": "Bayern",
                "postcode": "80331",
                "country": "DE",
                "label": "home",
            }
        ],
        urls=[
            {"url": "https://example.com/zoë", "label": "Blog, mostly"},
            {"url": "https://social.example/@zoe", "kind": "social", "label": "Mastodon"},
        ],
        external_ids=[{"source": "Old CRM", "id": "C-17; A"}, {"source": "Phone", "id": "42"}],
        birthday="1985-04-12",
        job_title="@lead, R&D",
        notes=NOTES,
        tags=["VIP", "Berlin 🐻"],
        custom_fields={"shoe_size": 38.5},
        lifecycle_stage="customer",
        owner="alice",
        time_zone="Europe/Berlin",
        language="de",
        source="Old CRM",
    )
    employ(zoe, org, alice, title="Chief Wizard", department="R&D")
    make_contact(
        alice,
        given_name="李",
        family_name="娜",
        emails=[{"address": "li.na@example.cn"}],
        phones=[{"number": "+86 10 6552 9988"}],
        notes="第一行\r\n第二行 \\ backslash",
        lifecycle_stage="partner",
        source="Phone",
    )


def _fields(contact: Contact, *, vcard: bool) -> dict:
    """Every field of a contact. In vCard, TEL holds the number in E.164, not as typed;
    the fields vCard has no property for travel as X-RAPPORT-* properties."""
    affiliation = (
        contact.affiliations.select_related("organization").filter(is_current=True).first()
    )
    fields = {
        "names": [
            getattr(contact, n)
            for n in ("prefix", "given_name", "middle_name", "family_name", "suffix", "nickname")
        ],
        "display_name": contact.display_name,
        "emails": [(e.address, e.label, e.primary) for e in contact.emails.all()],
        "phones": [(p.e164, p.extension, p.label, p.primary) for p in contact.phones.all()],
        "addresses": [
            (a.street, a.locality, a.region, a.postcode, a.country, a.label, a.primary)
            for a in contact.addresses.all()
        ],
        "urls": [(u.url, u.kind, u.label, u.primary) for u in contact.links.all()],
        "external_ids": sorted((x.source, x.value) for x in contact.external_ids.all()),
        "birthday": contact.birthday,
        "job_title": contact.job_title,
        "notes": contact.notes.replace("\r\n", "\n"),
        "tags": sorted(t.name for t in contact.tags.all()),
        "organization": affiliation.organization.name if affiliation else None,
        "department": affiliation.department if affiliation else None,
    }
    fields.update(
        title=affiliation.title if affiliation else None,
        custom_fields=contact.custom_fields,
        lifecycle_stage=contact.lifecycle_stage,
        owner=contact.owner.username if contact.owner else None,
        time_zone=contact.time_zone,
        language=contact.language,
        source=contact.source,
    )
    if not vcard:
        fields["numbers"] = [p.number for p in contact.phones.all()]
    return fields


def _everyone(*, vcard: bool) -> dict[str, dict]:
    return {
        c.emails.all()[0].address: _fields(c, vcard=vcard)
        for c in Contact.objects.prefetch_related("emails", "phones", "addresses", "links", "tags")
    }


def _import(actor, data: bytes, file_name: str):
    from rapport.ingest import services as ingest

    batch = ingest.import_upload(
        actor=actor, upload=io.BytesIO(data), file_name=file_name, source="Rapport"
    )
    batch = ingest.import_configure(actor=actor, batch=batch, mapping=batch.mapping, mode="create")
    ingest.import_start(actor=actor, batch=batch)
    return ingest.import_run(batch_id=batch.pk)


@pytest.mark.parametrize("file_format", ["csv", "xlsx", "vcf", "vcf3"])
def test_export_then_import_into_an_empty_database_gives_back_the_same_contacts(alice, file_format):
    from rapport.contacts.models import Organization

    vcard = file_format.startswith("vcf")
    # The vCard import fills name parts that N leaves empty by splitting FN, so a
    # surname of several words would lend one to the middle name or suffix there.
    _people(alice, 'O\'Neil;"the"-third' if vcard else 'O\'Neil; Jr, "the" third')
    before = _everyone(vcard=vcard)
    data = b"".join(contacts_export(actor=alice, file_format=file_format).chunks)
    Contact.objects.all().delete()
    Organization.objects.all().delete()

    name = f"contacts.{'vcf' if vcard else file_format}"
    batch = _import(alice, data, name)
    assert (batch.created_count, batch.failed_count) == (2, 0), batch.log
    after = _everyone(vcard=vcard)
    assert after.keys() == before.keys()
    differences = {
        (email, key): (after[email][key], value)
        for email, fields in before.items()
        for key, value in fields.items()
        if after[email][key] != value
    }
    assert differences == {}
