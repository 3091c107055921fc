"""Organization exports: the content of each format, filters and selections, permissions,
and the four ways in (the list's Export menu, "export selected", the API, the CLI)."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from django.core.management import CommandError, call_command
from django.http import StreamingHttpResponse
from django.test import Client
from openpyxl import load_workbook

from rapport.conftest import bearer
from rapport.contacts import services
from rapport.contacts.tests.factories import employ, make_contact, make_organization
from rapport.core.errors import InvalidInput, NotPermitted
from rapport.ingest.exporters import organizations_export


@pytest.fixture
def orgs(alice):
    """Acme (two phones, an address, tags, a custom field, a formula-like note, two
    current people and one former), its subsidiary Acme Labs, and Globex elsewhere."""
    services.custom_field_create(
        actor=alice,
        data={"target": "organization", "key": "tier", "label": "Tier", "field_type": "text"},
    )
    acme = make_organization(
        alice,
        name="Acme, Inc.",
        legal_name='Acme "Holdings" GmbH',
        domains=["acme.example", "acme-labs.example"],
        industry="Robotics",
        size_band="50-249",
        website="https://acme.example",
        notes='=HYPERLINK("http://evil")\nsecond line',
        phones=[
            {"number": "+49 30 1234567", "label": "main"},
            {"number": "+49 30 7654321", "label": "fax", "primary": True},
        ],
        addresses=[{"street": "Straße 1", "locality": "Berlin", "country": "DE"}],
        tags=["key account", "Berlin"],
        custom_fields={"tier": "Gold"},
    )
    labs = make_organization(alice, name="Acme Labs", industry="Robotics", parent=acme.pk)
    globex = make_organization(alice, name="Globex", industry="Energy")
    for name in ("Ada", "Grace"):
        employ(make_contact(alice, given_name=name), acme)
    employ(make_contact(alice, given_name="Alan"), acme, is_current=False, end_date="2020-01-01")
    return acme, labs, globex


def _text(export) -> str:  # type: ignore[no-untyped-def]
    return b"".join(export.chunks).decode("utf-8-sig")


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_holds_every_field_with_formulas_escaped(alice, orgs):
    acme, labs, _ = orgs
    rows = {
        r["name"]: r for r in _rows(_text(organizations_export(actor=alice, file_format="csv")))
    }
    assert set(rows) == {"Acme, Inc.", "Acme Labs", "Globex"}
    row = rows["Acme, Inc."]
    assert row["id"] == str(acme.pk)
    assert row["legal_name"] == 'Acme "Holdings" GmbH'
    assert row["domains"] == "acme.example, acme-labs.example"
    assert (row["industry"], row["size_band"], row["website"]) == (
        "Robotics",
        "50-249",
        "https://acme.example",
    )
    # The primary phone comes first; as many phone columns as the widest organization.
    assert (row["phones[0].number"], row["phones[0].label"]) == ("+49 30 7654321", "fax")
    assert row["phones[1].number"] == "+49 30 1234567"
    assert (row["addresses[0].locality"], row["addresses[0].country"]) == ("Berlin", "DE")
    assert row["tags"] == "Berlin, key account"
    assert row["custom_fields.tier"] == "Gold"
    assert row["people"] == "2", "former employees are not counted"
    assert row["notes"] == '\'=HYPERLINK("http://evil")\nsecond line'
    assert rows["Acme Labs"]["parent.name"] == "Acme, Inc."
    assert rows["Globex"]["phones[0].number"] == "" and rows["Globex"]["people"] == "0"
    assert row["created_at"].endswith("+00:00")


def test_xlsx_has_the_same_columns_and_keeps_formula_like_text_as_text(alice, orgs):
    data = b"".join(organizations_export(actor=alice, file_format="xlsx").chunks)
    sheet = load_workbook(io.BytesIO(data), read_only=True)["Organizations"]
    table = [list(row) for row in sheet.iter_rows(values_only=True)]
    header = table[0]
    acme = next(r for r in table[1:] if r[header.index("name")] == "Acme, Inc.")
    assert acme[header.index("notes")].startswith('=HYPERLINK("http://evil")')
    assert acme[header.index("phones[0].number")] == "+49 30 7654321"
    cell = next(
        c
        for row in load_workbook(io.BytesIO(data))["Organizations"].iter_rows()
        for c in row
        if isinstance(c.value, str) and c.value.startswith("=HYPERLINK")
    )
    assert cell.data_type == "s", "stored as text, never as a formula"


def test_json_is_an_array_of_the_api_representation(alice, orgs):
    acme, _, _ = orgs
    data = json.loads(_text(organizations_export(actor=alice, file_format="json", ids=[acme.pk])))
    api = Client().get(f"/api/v1/organizations/{acme.pk}", **bearer(alice)).json()
    assert data == [api]
    empty = organizations_export(actor=alice, file_format="json", q="no such organization")
    assert json.loads(_text(empty)) == []


def test_search_filters_and_selection_narrow_the_export(alice, orgs):
    acme, labs, globex = orgs

    def names(**kwargs):  # type: ignore[no-untyped-def]
        export = organizations_export(actor=alice, file_format="csv", **kwargs)
        return sorted(r["name"] for r in _rows(_text(export)))

    from rapport.contacts.selectors import OrganizationFilters

    assert names(q="acme") == ["Acme Labs", "Acme, Inc."]
    assert names(filters=OrganizationFilters(industry="energy")) == ["Globex"]
    assert names(filters=OrganizationFilters(parent=acme.pk)) == ["Acme Labs"]
    assert names(filters=OrganizationFilters(tags=["key account"])) == ["Acme, Inc."]
    assert names(ids=[globex.pk, labs.pk]) == ["Acme Labs", "Globex"]


def test_large_exports_are_read_a_chunk_at_a_time(alice):
    for n in range(7):
        make_organization(alice, name=f"Org {n}", phones=[{"number": f"+4930123456{n}"}])
    text = _text(organizations_export(actor=alice, file_format="csv", chunk_size=3))
    assert sorted(r["name"] for r in _rows(text)) == [f"Org {n}" for n in range(7)]
    data = json.loads(_text(organizations_export(actor=alice, file_format="json", chunk_size=3)))
    assert len(data) == 7


def test_an_unknown_format_a_huge_selection_or_no_permission_is_refused(alice, orgs):
    with pytest.raises(InvalidInput) as bad:
        organizations_export(actor=alice, file_format="vcf")
    assert bad.value.errors[0].path == "format"
    with pytest.raises(InvalidInput) as huge:
        organizations_export(actor=alice, file_format="csv", ids=list(range(1, 10_002)))
    assert huge.value.errors[0].path == "ids"
    with pytest.raises(NotPermitted):
        organizations_export(actor=None, file_format="csv")


def test_the_organization_list_offers_an_export_of_what_it_shows(charlie_client, orgs):
    page = charlie_client.get("/organizations/", {"q": "acme", "industry": "Robotics"})
    html = page.content.decode()
    links = re.findall(r'href="(/organizations/export/\?[^"]*)"', html)
    assert {re.search(r"format=(\w+)", link).group(1) for link in links} == {  # type: ignore[union-attr]
        "csv",
        "xlsx",
        "json",
    }
    assert all("q=acme" in link and "industry=Robotics" in link for link in links)
    answer = charlie_client.get(links[0].replace("&amp;", "&"))
    assert isinstance(answer, StreamingHttpResponse)
    assert re.fullmatch(
        r'attachment; filename="organizations-\d{8}-\d{4}\.csv"', answer["Content-Disposition"]
    )
    assert sorted(
        r["name"] for r in _rows(b"".join(answer.streaming_content).decode("utf-8-sig"))
    ) == [
        "Acme Labs",
        "Acme, Inc.",
    ]
    bad = charlie_client.get("/organizations/export/", {"format": "vcf"})
    assert bad.status_code == 400 and "format" in bad.content.decode()


def test_exporting_ticked_organizations_downloads_only_them(charlie_client, orgs):
    acme, labs, globex = orgs
    html = charlie_client.get("/organizations/").content.decode()
    actions = html[
        html.index('name="action"') : html.index("</select>", html.index('name="action"'))
    ]
    assert 'value="export"' in actions
    answer = charlie_client.post(
        "/organizations/bulk/",
        {"action": "export", "value_export": "csv", "id": [globex.pk, labs.pk], "query": "q=acme"},
    )
    assert answer["Content-Disposition"].startswith('attachment; filename="organizations-')
    names = sorted(r["name"] for r in _rows(b"".join(answer.streaming_content).decode("utf-8-sig")))
    assert names == ["Acme Labs", "Globex"]
    every = charlie_client.post(
        "/organizations/bulk/",
        {"action": "export", "value_export": "json", "scope": "all", "query": "industry=Robotics"},
    )
    data = json.loads(b"".join(every.streaming_content))
    assert sorted(o["name"] for o in data) == ["Acme Labs", "Acme, Inc."]


def test_the_api_streams_each_format_and_explains_bad_input(charlie, orgs):
    acme, _, _ = orgs
    client = Client()
    for file_format, content_type in (
        ("csv", "text/csv; charset=utf-8"),
        ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("json", "application/json"),
    ):
        answer = client.get(
            "/api/v1/exports/organizations",
            {"format": file_format, "tag": "key account"},
            **bearer(charlie),
        )
        assert answer.status_code == 200 and answer["Content-Type"] == content_type
        body = b"".join(answer.streaming_content)
        assert b"Acme" in body or file_format == "xlsx"
    custom = client.get(
        "/api/v1/exports/organizations",
        {"format": "json", "custom.tier": "Gold"},
        **bearer(charlie),
    )
    assert [o["id"] for o in json.loads(b"".join(custom.streaming_content))] == [acme.pk]
    bad = client.get("/api/v1/exports/organizations", {"format": "vcf"}, **bearer(charlie))
    assert bad.status_code == 422 and "format" in json.dumps(bad.json())
    assert client.get("/api/v1/exports/organizations").status_code == 401


def test_the_command_exports_organizations_with_their_filters(alice, orgs, tmp_path, capsys):
    out = io.StringIO()
    call_command("export", "--organizations", "--industry", "robotics", "--as", "alice", stdout=out)
    assert sorted(r["name"] for r in _rows(out.getvalue().lstrip("\ufeff"))) == [
        "Acme Labs",
        "Acme, Inc.",
    ]
    target = tmp_path / "orgs.json"
    call_command(
        "export", "--organizations", "--format", "json", "-o", str(target), "--as", "alice"
    )
    assert len(json.loads(target.read_text())) == 3
    with pytest.raises(CommandError, match="--stage filters contacts, not organizations"):
        call_command("export", "--organizations", "--stage", "lead", "--as", "alice")
    with pytest.raises(CommandError, match="--industry filters organizations, not contacts"):
        call_command("export", "--industry", "x", "--as", "alice")
    with pytest.raises(CommandError, match="Nothing was exported:\n  Format: Must be one of"):
        call_command("export", "--organizations", "--format", "vcf", "--as", "alice")
