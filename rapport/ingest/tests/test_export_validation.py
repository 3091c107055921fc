"""Exports check their input before the file starts streaming: a bad filter is a clear
error, never a 500 or a file cut short after its first bytes."""

from __future__ import annotations

import pytest
from django.test import Client

from rapport.conftest import bearer
from rapport.contacts.tests.factories import make_contact

OUT_OF_RANGE = [
    ("created_after", "0001-01-01T00:00:00+01:00"),
    ("updated_before", "9999-12-31T23:59:59-14:00"),
]


@pytest.mark.parametrize("file_format", ["json", "vcf", "vcf3", "csv", "xlsx"])
@pytest.mark.parametrize(("name", "value"), OUT_OF_RANGE)
def test_an_api_export_with_an_out_of_range_time_is_a_422_naming_the_filter(
    bob, file_format, name, value
):
    make_contact(given_name="Ada")
    response = Client().get(
        "/api/v1/exports/contacts", {"format": file_format, name: value}, **bearer(bob)
    )
    assert response.status_code == 422
    assert not response.streaming
    assert response.json() == {
        "errors": [
            {"field": name, "message": "Must be a time between the years 1 and 9999 in UTC."}
        ]
    }


def test_an_export_in_range_still_streams_the_whole_file(bob):
    make_contact(given_name="Ada")
    response = Client().get(
        "/api/v1/exports/contacts",
        {"format": "json", "created_after": "0001-01-02T00:00:00Z"},
        **bearer(bob),
    )
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert body.startswith(b"[") and body.rstrip().endswith(b"]")
    assert b'"given_name": "Ada"' in body
