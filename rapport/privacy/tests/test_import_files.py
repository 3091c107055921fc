"""Stored import files lose the rows that mention an erased person, in their own format
(CSV, Excel, vCard), every other row as it was; an interrupted import still resumes at
the right row."""

from __future__ import annotations

import io

import openpyxl
import pytest

from rapport.contacts import services as contacts
from rapport.ingest import parsers
from rapport.ingest.models import ImportBatch
from rapport.privacy import services
from rapport.privacy.tests.conftest import run_import

pytestmark = pytest.mark.django_db

VCARDS = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ada Lovelace\r\nEMAIL:ada@example.org\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Yannick Erasewell\r\nEMAIL:yannick@gone.example\r\n"
    "TEL:+33 1 23 45 67 89\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Grace Hopper\r\nEMAIL:grace@navy.example\r\nEND:VCARD\r\n"
)


def workbook() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Name", "E-mail", "Phone", "Company"])
    sheet.append(["Ada Lovelace", "ada@example.org", "", "Engines"])
    sheet.append(["Yannick Erasewell", "yannick@gone.example", "+33 1 23 45 67 89", "Gone"])
    sheet.append(["Grace Hopper", "grace@navy.example", "", "Navy"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def erase_yannick(alice, django_capture_on_commit_callbacks):
    from rapport.contacts.models import Email

    contact_id = Email.objects.get(address_key="yannick@gone.example").contact_id
    preview = services.erasure_preview(actor=alice, contact_id=contact_id)
    with django_capture_on_commit_callbacks(execute=True):
        return services.contact_erase(
            actor=alice, contact_id=contact_id, confirmation=preview.confirmation
        )


def rows(batch: ImportBatch) -> list[tuple[int, dict[str, str]]]:
    """The rows an import would read now, as their filled columns (an emptied vCard
    reads as an empty row; a vCard's columns follow what its cards hold)."""
    batch.refresh_from_db()
    table = parsers.detect(batch.file.path, batch.file_name)
    return [
        (number, {h: v for h, v in zip(table.headers, cells, strict=True) if v})
        for number, cells in table.rows
        if cells and any(cells)
    ]


@pytest.mark.parametrize(
    ("name", "content", "mapping"),
    [
        ("people.xlsx", workbook(), None),
        ("people.vcf", VCARDS.encode(), None),
        (
            "people.csv",
            "\ufeffName;E-mail;Phone\r\nAda Lovelace;ada@example.org;\r\n"
            'Yannick Erasewell;yannick@gone.example;"+33 1 23 45 67 89"\r\n'
            '"Hopper; Grace";grace@navy.example;\r\n'.encode(),
            None,
        ),
    ],
)
def test_each_format_keeps_its_other_rows(
    alice, bob, name, content, mapping, django_capture_on_commit_callbacks
):
    batch = run_import(bob, content, name=name, mapping=mapping)
    assert batch.created_count == 3, batch.log
    before = rows(batch)
    log = erase_yannick(alice, django_capture_on_commit_callbacks)
    assert log.counts["ingest"]["rows in stored import files"] == 1
    after = rows(batch)
    assert len(after) == 2
    assert after == [row for row in before if "yannick@gone.example" not in row[1].values()]
    raw = open(batch.file.path, "rb").read()  # noqa: PTH123, SIM115
    if name.endswith(".xlsx"):
        raw = b"".join(
            str(cell.value).encode()
            for row in openpyxl.load_workbook(batch.file.path).active.iter_rows()
            for cell in row
        )
    assert b"Erasewell" not in raw and b"yannick" not in raw
    if name.endswith(".csv"):
        assert raw.startswith(b"\xef\xbb\xbfName;E-mail;Phone\r\n")


def test_an_interrupted_import_resumes_at_the_same_row_after_one_it_read_was_emptied(
    alice, bob, django_capture_on_commit_callbacks
):
    contacts.contact_create(
        actor=bob,
        data={"full_name": "Yannick Erasewell", "emails": [{"address": "yannick@gone.example"}]},
    )
    text = (
        "Name,E-mail\n"
        "Yannick Erasewell,yannick@gone.example\n"
        "Ada Lovelace,ada@example.org\n"
        "Grace Hopper,grace@navy.example\n"
    )
    from rapport.ingest import services as ingest

    batch = ingest.import_upload(actor=bob, upload=io.BytesIO(text.encode()), file_name="x.csv")
    ingest.import_configure(
        actor=bob, batch=batch, mapping={"Name": "full_name", "E-mail": "emails[0].address"}
    )
    # as if the worker died after the first two rows
    ImportBatch.objects.filter(pk=batch.pk).update(
        status=ImportBatch.Status.INTERRUPTED, processed_rows=2
    )
    erase_yannick(alice, django_capture_on_commit_callbacks)
    batch.refresh_from_db()
    assert batch.processed_rows == 1
    remaining = list(rows(batch))[batch.processed_rows :]
    assert [cells["Name"] for _, cells in remaining] == ["Grace Hopper"]


def test_an_import_running_now_is_left_alone_and_counted(
    alice, bob, django_capture_on_commit_callbacks
):
    batch = run_import(
        bob,
        "Name,E-mail\nYannick Erasewell,yannick@gone.example\n",
        mapping={"Name": "full_name", "E-mail": "emails[0].address"},
    )
    ImportBatch.objects.filter(pk=batch.pk).update(status=ImportBatch.Status.RUNNING)
    log = erase_yannick(alice, django_capture_on_commit_callbacks)
    assert log.counts["ingest"]["imports running now (left as they are)"] == 1
    assert b"yannick" in open(batch.file.path, "rb").read()  # noqa: PTH123, SIM115
