"""Exports made for a campaign (`rapport export --purpose NAME`) leave out whoever may
not be contacted for that purpose now; an unknown purpose is a clear error."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import CommandError, call_command

from rapport.consent.tests.support import make_purpose, record

pytestmark = pytest.mark.django_db


def test_export_for_a_purpose_leaves_out_blocked_contacts(alice, make_contact):
    make_purpose(alice, "bulletin", is_marketing=True)
    ann = make_contact("Ann Lee", email="ann@example.com")
    bea = make_contact("Bea Roy", email="bea@example.com")
    make_contact("Cy Park", email="cy@example.com")  # never agreed
    dee = make_contact("Dee Moss", email="dee@example.com", channels={"email": "refused"})
    for who in (ann, bea, dee):
        record(alice, who, "grant", purpose="bulletin", method="checkbox")
    record(alice, bea, "withdraw", purpose="bulletin", method="email")

    plain = io.StringIO()
    call_command("export", "--as", "alice", "--format", "csv", stdout=plain)
    campaign = io.StringIO()
    call_command(
        "export", "--as", "alice", "--format", "csv", "--purpose", "bulletin", stdout=campaign
    )

    def names(out: io.StringIO) -> set[str]:
        return {row["display_name"] for row in csv.DictReader(io.StringIO(out.getvalue()))}

    assert names(plain) == {"Ann Lee", "Bea Roy", "Cy Park", "Dee Moss"}
    assert names(campaign) == {"Ann Lee"}


def test_an_unknown_purpose_is_a_clear_error(alice):
    with pytest.raises(CommandError, match="There is no purpose “nope”"):
        call_command("export", "--as", "alice", "--purpose", "nope", stdout=io.StringIO())


def test_the_export_api_takes_a_purpose(alice, make_contact):
    from django.test import Client

    from rapport.conftest import bearer

    make_purpose(alice, "bulletin", is_marketing=True)
    ann = make_contact("Ann Lee", email="ann@example.com")
    make_contact("Cy Park", email="cy@example.com")
    record(alice, ann, "grant", purpose="bulletin", method="checkbox")
    response = Client().get("/api/v1/exports/contacts?format=csv&purpose=bulletin", **bearer(alice))
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    assert "Ann Lee" in body and "Cy Park" not in body
    unknown = Client().get("/api/v1/exports/contacts?purpose=nope", **bearer(alice))
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "purpose"


def test_a_campaign_exports_columns_are_sized_for_the_people_it_exports(alice, make_contact):
    make_purpose(alice, "bulletin", is_marketing=True)
    ann = make_contact("Ann Lee", email="ann@example.com")
    cy = make_contact("Cy Park", email="cy@example.com")  # never agreed: not exported
    from rapport.contacts.services import contact_update

    contact_update(
        actor=alice,
        contact=cy,
        data={
            "emails": [{"address": f"cy{n}@example.com"} for n in range(3)],
            "external_ids": [{"source": "shop", "id": "42"}],
        },
        via="api",
    )
    record(alice, ann, "grant", purpose="bulletin", method="checkbox")

    def header(*extra: str) -> list[str]:
        out = io.StringIO()
        call_command("export", "--as", "alice", "--format", "csv", *extra, stdout=out)
        return next(csv.reader(io.StringIO(out.getvalue())))

    plain, campaign = header(), header("--purpose", "bulletin")
    assert "emails[2].address" in plain and "emails[1].address" not in campaign
    assert "external_id.shop" in plain and "external_id.shop" not in campaign
