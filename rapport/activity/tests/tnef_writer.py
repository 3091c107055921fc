"""A small TNEF (winmail.dat) writer for the tests, laid out as Outlook writes them.

TNEF ([MS-OXTNEF]) is a signature (0x223E9F78), a 16-bit key, then attributes: a level
byte (1 message, 2 attachment), a 32-bit id (attribute number, type in the high word),
a 32-bit length, the data and a 16-bit checksum (the sum of the data bytes). MAPI
properties travel inside ``attMsgProps`` and ``attAttachment`` as a count and then,
per property, its type, its number and its value (variable-length values as a count
of one, a length and the bytes padded to four). Each attachment starts with
``attAttachRendData``.

Run ``python -m rapport.activity.tests.tnef_writer`` to write the sample messages
under ``data/mail`` again (the output is the same every time):

- ``de-outlook-winmail-rtf.eml``: an Outlook "Rich Text" message whose only MIME part
  is winmail.dat, carrying the body as compressed RTF (with umlauts) and three files: a
  PDF with its MIME type, a PNG named in Unicode without one, and a text file with only
  an old 8.3 name;
- ``en-exchange-winmail-with-text.eml``: a plain-text part and a winmail.dat beside it
  carrying an HTML body and a spreadsheet (the message's own text is the body).
"""

from __future__ import annotations

import base64
import datetime as dt
import struct
from dataclasses import dataclass
from pathlib import Path

SIGNATURE = 0x223E9F78

# attribute ids (number | type << 16)
ATT_TNEF_VERSION = 0x00089006
ATT_OEM_CODEPAGE = 0x00069007
ATT_MESSAGE_CLASS = 0x00078008
ATT_SUBJECT = 0x00018004
ATT_DATE_SENT = 0x00038005
ATT_MSG_PROPS = 0x00069003
ATT_ATTACH_REND_DATA = 0x00069002
ATT_ATTACH_TITLE = 0x00018010
ATT_ATTACH_MODIFY_DATE = 0x00038013
ATT_ATTACH_DATA = 0x0006800F
ATT_ATTACHMENT = 0x00069005

# MAPI property types and tags
PT_LONG = 0x0003
PT_BOOLEAN = 0x000B
PT_STRING8 = 0x001E
PT_UNICODE = 0x001F
PT_BINARY = 0x0102
PR_BODY = 0x1000
PR_RTF_COMPRESSED = 0x1009
PR_RTF_IN_SYNC = 0x0E1F
PR_BODY_HTML = 0x1013
PR_INTERNET_CPID = 0x3FDE
PR_DISPLAY_NAME = 0x3001
PR_ATTACH_EXTENSION = 0x3703
PR_ATTACH_METHOD = 0x3705
PR_ATTACH_LONG_FILENAME = 0x3707
PR_ATTACH_MIME_TAG = 0x370E
PR_ATTACH_CONTENT_ID = 0x3712

LEVEL_MESSAGE = 1
LEVEL_ATTACHMENT = 2


def attribute(level: int, ident: int, data: bytes) -> bytes:
    """One TNEF attribute with its checksum."""
    return (
        struct.pack("<BII", level, ident, len(data)) + data + struct.pack("<H", sum(data) & 0xFFFF)
    )


def _padded(data: bytes) -> bytes:
    return data + b"\x00" * (-len(data) % 4)


def mapi_props(*props: tuple[int, int, object]) -> bytes:
    """MAPI properties as (type, tag, value): int for PT_LONG/PT_BOOLEAN, str for the
    string types (NUL-terminated here), bytes for PT_BINARY."""
    out = struct.pack("<I", len(props))
    for kind, tag, value in props:
        out += struct.pack("<HH", kind, tag)
        if kind == PT_LONG:
            assert isinstance(value, int)
            out += struct.pack("<i", value)
        elif kind == PT_BOOLEAN:
            out += struct.pack("<HH", 1 if value else 0, 0)
        else:
            if kind == PT_UNICODE:
                assert isinstance(value, str)
                raw = (value + "\x00").encode("utf-16-le")
            elif kind == PT_STRING8:
                assert isinstance(value, str)
                raw = (value + "\x00").encode("cp1252")
            else:
                assert isinstance(value, bytes)
                raw = value
            out += struct.pack("<II", 1, len(raw)) + _padded(raw)
    return out


def dtr(moment: dt.datetime) -> bytes:
    """A TNEF date (year, month, day, hour, minute, second, weekday)."""
    return struct.pack(
        "<7H",
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
        (moment.weekday() + 1) % 7,
    )


def compressed_rtf(rtf: bytes) -> bytes:
    from compressed_rtf import compress

    return bytes(compress(rtf, compressed=True))


@dataclass
class File:
    """A file to put in the stream: ``title`` is the old 8.3 name, ``long_name`` the
    real one (None: not written), ``mime`` the type (empty: not written)."""

    title: str
    data: bytes
    long_name: str | None = None
    mime: str = ""
    unicode_name: bool = False
    content_id: str = ""


def winmail(
    *,
    subject: str,
    sent: dt.datetime,
    files: list[File],
    rtf: bytes | None = None,
    body: str | None = None,
    html: str | None = None,
    key: int = 0x4D2A,
) -> bytes:
    """A whole winmail.dat: message attributes, the body properties, then each file."""
    out = struct.pack("<IH", SIGNATURE, key)
    out += attribute(LEVEL_MESSAGE, ATT_TNEF_VERSION, struct.pack("<I", 0x00010000))
    out += attribute(LEVEL_MESSAGE, ATT_OEM_CODEPAGE, struct.pack("<II", 1252, 0))
    out += attribute(LEVEL_MESSAGE, ATT_MESSAGE_CLASS, b"IPM.Note\x00")
    out += attribute(LEVEL_MESSAGE, ATT_SUBJECT, subject.encode("cp1252") + b"\x00")
    out += attribute(LEVEL_MESSAGE, ATT_DATE_SENT, dtr(sent))
    props: list[tuple[int, int, object]] = [(PT_BOOLEAN, PR_RTF_IN_SYNC, True)]
    if rtf is not None:
        props.append((PT_BINARY, PR_RTF_COMPRESSED, compressed_rtf(rtf)))
    if body is not None:
        props.append((PT_STRING8, PR_BODY, body))
    if html is not None:
        props.append((PT_LONG, PR_INTERNET_CPID, 65001))
        props.append((PT_BINARY, PR_BODY_HTML, html.encode("utf-8")))
    out += attribute(LEVEL_MESSAGE, ATT_MSG_PROPS, mapi_props(*props))
    for file in files:
        rendering = struct.pack("<HIHHI", 1, 0xFFFFFFFF, 0xFFFF, 0xFFFF, 0)
        out += attribute(LEVEL_ATTACHMENT, ATT_ATTACH_REND_DATA, rendering)
        out += attribute(LEVEL_ATTACHMENT, ATT_ATTACH_TITLE, file.title.encode("cp1252") + b"\x00")
        out += attribute(LEVEL_ATTACHMENT, ATT_ATTACH_MODIFY_DATE, dtr(sent))
        out += attribute(LEVEL_ATTACHMENT, ATT_ATTACH_DATA, file.data)
        attach: list[tuple[int, int, object]] = [(PT_LONG, PR_ATTACH_METHOD, 1)]
        name = file.long_name or file.title
        attach.append((PT_STRING8, PR_DISPLAY_NAME, file.title))
        if file.long_name is not None:
            kind = PT_UNICODE if file.unicode_name else PT_STRING8
            attach.append((kind, PR_ATTACH_LONG_FILENAME, file.long_name))
        if "." in name:
            attach.append((PT_STRING8, PR_ATTACH_EXTENSION, "." + name.rsplit(".", 1)[1]))
        if file.mime:
            attach.append((PT_STRING8, PR_ATTACH_MIME_TAG, file.mime))
        if file.content_id:
            attach.append((PT_STRING8, PR_ATTACH_CONTENT_ID, file.content_id))
        out += attribute(LEVEL_ATTACHMENT, ATT_ATTACHMENT, mapi_props(*attach))
    return out


def base64_lines(data: bytes) -> str:
    text = base64.b64encode(data).decode()
    return "\r\n".join(text[i : i + 76] for i in range(0, len(text), 76))


# -- the samples ---------------------------------------------------------------------------

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
AGENDA = "Agenda 12.03.\r\n1. Angebot\r\n2. Lageplan\r\n3. Termine\r\n".encode("cp1252")
# A minimal XLSX is a zip; a zip's first bytes are enough for the type to be sniffed.
XLSX = b"PK\x03\x04" + b"\x14\x00\x06\x00\x08\x00" + b"\x00" * 60

RTF = (
    rb"{\rtf1\ansi\ansicpg1252\deff0\deflang1031{\fonttbl{\f0\fswiss\fcharset0 Calibri;}}"
    b"\r\n"
    rb"{\*\generator Riched20 16.0.17328}\viewkind4\uc1\pard\f0\fs22 "
    rb"Hallo Frau Archer,\par\par "
    rb"anbei wie besprochen unser \b Angebot Q-2026-114\b0  und der Lageplan f\'fcr "
    rb"die Halle S\'fcd.\par\par "
    rb"Mit freundlichen Gr\'fc\'dfen\par "
    rb"J\'fcrgen M\'fcller\par "
    rb"Vertrieb, Bergmann Technik GmbH\par "
    rb"Tel. +49 89 1234 5678\par }"
    b"\r\n\x00"
)
SENT = dt.datetime(2026, 3, 10, 8, 14, 55)


def rtf_sample() -> bytes:
    """winmail.dat of an Outlook message in Rich Text with three files."""
    return winmail(
        subject="Angebot und Lageplan",
        sent=SENT,
        rtf=RTF,
        files=[
            File("ANGEBO~1.PDF", PDF, long_name="Angebot Q-2026-114.pdf", mime="application/pdf"),
            File("LAGEPL~1.PNG", PNG, long_name="Lageplan Halle Süd.png", unicode_name=True),
            File("AGENDA.TXT", AGENDA),
        ],
    )


def html_sample() -> bytes:
    """winmail.dat beside a plain-text part: an HTML body and a spreadsheet."""
    return winmail(
        subject="Price list 2026",
        sent=SENT,
        html="<html><body><p>Please find the <b>price list</b> attached.</p></body></html>",
        files=[
            File(
                "PRICEL~1.XLS",
                XLSX,
                long_name="Price list 2026.xlsx",
                mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
        ],
    )


def rtf_message(tnef: bytes | None = None) -> bytes:
    """An Outlook message whose only part is its winmail.dat."""
    head = (
        "From: =?iso-8859-1?Q?J=FCrgen_M=FCller?= <juergen.mueller@bergmann-technik.de>\r\n"
        "To: Alice Archer <alice@rapport.test>\r\n"
        "Subject: Angebot und Lageplan\r\n"
        "Date: Tue, 10 Mar 2026 09:14:55 +0100\r\n"
        "Message-ID: <AM0PR07MB4131E2F0A1B2C3D4@AM0PR07MB4131.eurprd07.prod.outlook.com>\r\n"
        "X-MS-Has-Attach: yes\r\n"
        "X-MS-TNEF-Correlator: <AM0PR07MB4131E2F0A1B2C3D4@AM0PR07MB4131.eurprd07.prod.outlook.com>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: application/ms-tnef; name="winmail.dat"\r\n'
        'Content-Disposition: attachment; filename="winmail.dat"\r\n'
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
    )
    return (head + base64_lines(tnef if tnef is not None else rtf_sample()) + "\r\n").encode()


def text_and_tnef_message(tnef: bytes | None = None) -> bytes:
    """An Exchange message: a plain-text part, and the winmail.dat beside it."""
    boundary = "_000_DM6PR12MB3849_"
    return (
        "From: Dan Brooks <dan.brooks@northwind-traders.com>\r\n"
        "To: Alice Archer <alice@rapport.test>\r\n"
        "Subject: Price list 2026\r\n"
        "Date: Wed, 11 Mar 2026 16:02:10 +0000\r\n"
        "Message-ID: <DM6PR12MB38495F6E7D8C9B0A@DM6PR12MB3849.namprd12.prod.outlook.com>\r\n"
        "X-MS-TNEF-Correlator: <DM6PR12MB38495F6E7D8C9B0A@DM6PR12MB3849.namprd12.prod.outlook.com>\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n'
        "\r\n"
        f"--{boundary}\r\n"
        'Content-Type: text/plain; charset="us-ascii"\r\n'
        "\r\n"
        "Hi Alice,\r\n\r\nPlease find the price list attached.\r\n\r\nDan\r\n"
        f"--{boundary}\r\n"
        'Content-Type: application/ms-tnef; name="winmail.dat"\r\n'
        'Content-Disposition: attachment; filename="winmail.dat"\r\n'
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        + base64_lines(tnef if tnef is not None else html_sample())
        + f"\r\n--{boundary}--\r\n"
    ).encode()


SAMPLES = {
    "de-outlook-winmail-rtf.eml": rtf_message,
    "en-exchange-winmail-with-text.eml": text_and_tnef_message,
}


def main() -> None:
    folder = Path(__file__).parent / "data" / "mail"
    for name, make in SAMPLES.items():
        (folder / name).write_bytes(make())
        print(f"wrote {folder / name}")


if __name__ == "__main__":
    main()
