"""Writes the sample import files in this folder, byte for byte as the real exporters do.

Run ``python rapport/ingest/tests/data/make_samples.py`` after changing a sample; the
outputs are committed. Awkward files that would be large (a 10,000-column CSV, a zip
bomb) are made by the tests in a temporary folder instead.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _csv_text(rows: list[list[str]], *, delimiter: str = ",", quote_all: bool = False) -> str:
    out = io.StringIO()
    writer = csv.writer(
        out,
        delimiter=delimiter,
        lineterminator="\r\n",
        quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
    )
    writer.writerows(rows)
    return out.getvalue()


GOOGLE_HEADERS = [
    "First Name", "Middle Name", "Last Name", "Phonetic First Name", "Phonetic Middle Name",
    "Phonetic Last Name", "Name Prefix", "Name Suffix", "Nickname", "File As",
    "Organization Name", "Organization Title", "Organization Department", "Birthday", "Notes",
    "Photo", "Labels", "E-mail 1 - Label", "E-mail 1 - Value", "E-mail 2 - Label",
    "E-mail 2 - Value", "Phone 1 - Label", "Phone 1 - Value", "Phone 2 - Label",
    "Phone 2 - Value", "Address 1 - Label", "Address 1 - Formatted", "Address 1 - Street",
    "Address 1 - City", "Address 1 - PO Box", "Address 1 - Region", "Address 1 - Postal Code",
    "Address 1 - Country", "Address 1 - Extended Address", "Website 1 - Label",
    "Website 1 - Value",
]  # fmt: skip


def google_contacts() -> None:
    def row(**values: str) -> list[str]:
        return [values.get(h, "") for h in GOOGLE_HEADERS]

    rows = [
        GOOGLE_HEADERS,
        row(**{
            "First Name": "Zoë", "Last Name": "Ångström", "Nickname": "Zo",
            "Organization Name": "Nordlys AB", "Organization Title": "Head of Procurement",
            "Organization Department": "Purchasing", "Birthday": "1986-03-14",
            "Notes": "Met at Web Summit.\nPrefers email over calls.\n\nFollow up in Q3.",
            "Labels": "Clients ::: Conference 2024 ::: * myContacts",
            "E-mail 1 - Label": "* Work", "E-mail 1 - Value": "zoe.angstrom@nordlys.se",
            "E-mail 2 - Label": "Home", "E-mail 2 - Value": "zoe@angstrom.example",
            "Phone 1 - Label": "Mobile", "Phone 1 - Value": "+46 70 123 45 67",
            "Phone 2 - Label": "Work", "Phone 2 - Value": "+46 8 555 010 00",
            "Address 1 - Label": "Work",
            "Address 1 - Formatted": "Sveavägen 44\n111 34 Stockholm\nSweden",
            "Address 1 - Street": "Sveavägen 44", "Address 1 - City": "Stockholm",
            "Address 1 - Postal Code": "111 34", "Address 1 - Country": "Sweden",
            "Website 1 - Label": "Profile", "Website 1 - Value": "https://nordlys.se/team/zoe",
        }),
        row(**{
            "First Name": "Marcus", "Middle Name": "J.", "Last Name": "O'Brien",
            "Name Prefix": "Dr.", "Name Suffix": "PhD", "Organization Name": "Helix Labs",
            "Organization Title": "CTO", "Labels": "Partners ::: * myContacts",
            "E-mail 1 - Label": "* Work", "E-mail 1 - Value": "marcus@helixlabs.io",
            "Phone 1 - Label": "Work",
            "Phone 1 - Value": "+1 415-555-0134 ::: +1 415-555-0199",
            "Address 1 - Label": "Work", "Address 1 - Street": "500 Howard St, Suite 300",
            "Address 1 - City": "San Francisco", "Address 1 - Region": "CA",
            "Address 1 - Postal Code": "94105", "Address 1 - Country": "United States",
        }),
        row(**{
            "First Name": "Priya", "Last Name": "Raghunathan", "Birthday": "--07-02",
            "Labels": "* myContacts", "E-mail 1 - Label": "Home",
            "E-mail 1 - Value": "priya.r@example.in", "Phone 1 - Label": "Mobile",
            "Phone 1 - Value": "+91 98765 43210",
        }),
        row(**{
            "First Name": "Lukas", "Last Name": "Brandt", "Organization Name": "Brandt & Söhne GmbH",
            "Notes": 'Says "call before 10".', "Labels": "Suppliers ::: * myContacts",
            "E-mail 1 - Label": "* Work", "E-mail 1 - Value": "l.brandt@brandt-soehne.de",
            "Phone 1 - Label": "Work", "Phone 1 - Value": "030 1234567",
            "Address 1 - Label": "Work", "Address 1 - Street": "Friedrichstraße 12",
            "Address 1 - City": "Berlin", "Address 1 - Postal Code": "10117",
            "Address 1 - Country": "Germany",
        }),
    ]  # fmt: skip
    (HERE / "google_contacts.csv").write_bytes(b"\xef\xbb\xbf" + _csv_text(rows).encode())


OUTLOOK_HEADERS = [
    "Title", "First Name", "Middle Name", "Last Name", "Suffix", "Company", "Department",
    "Job Title", "Business Street", "Business Street 2", "Business Street 3", "Business City",
    "Business State", "Business Postal Code", "Business Country/Region", "Home Street",
    "Home Street 2", "Home Street 3", "Home City", "Home State", "Home Postal Code",
    "Home Country/Region", "Other Street", "Other Street 2", "Other Street 3", "Other City",
    "Other State", "Other Postal Code", "Other Country/Region", "Assistant's Phone",
    "Business Fax", "Business Phone", "Business Phone 2", "Callback", "Car Phone",
    "Company Main Phone", "Home Fax", "Home Phone", "Home Phone 2", "ISDN", "Mobile Phone",
    "Other Fax", "Other Phone", "Pager", "Primary Phone", "Radio Phone", "TTY/TDD Phone",
    "Telex", "Account", "Anniversary", "Assistant's Name", "Billing Information", "Birthday",
    "Business Address PO Box", "Categories", "Children", "Directory Server", "E-mail Address",
    "E-mail Type", "E-mail Display Name", "E-mail 2 Address", "E-mail 2 Type",
    "E-mail 2 Display Name", "E-mail 3 Address", "E-mail 3 Type", "E-mail 3 Display Name",
    "Gender", "Government ID Number", "Hobby", "Home Address PO Box", "Initials",
    "Internet Free Busy", "Keywords", "Language", "Location", "Manager's Name", "Mileage",
    "Notes", "Office Location", "Organizational ID Number", "Other Address PO Box",
    "Priority", "Private", "Profession", "Referred By", "Sensitivity", "Spouse", "User 1",
    "User 2", "User 3", "User 4", "Web Page",
]  # fmt: skip


def outlook_contacts() -> None:
    def row(**values: str) -> list[str]:
        defaults = {"Anniversary": "0/0/00", "Birthday": "0/0/00", "Gender": "Unspecified",
                    "Priority": "Normal", "Private": "False", "Sensitivity": "Normal"}  # fmt: skip
        return [values.get(h, defaults.get(h, "")) for h in OUTLOOK_HEADERS]

    rows = [
        OUTLOOK_HEADERS,
        row(**{
            "Title": "Ms.", "First Name": "Hélène", "Last Name": "Dubois",
            "Company": "Société Générale de Conseil", "Department": "Finance",
            "Job Title": "Directrice financière", "Business Street": "12 rue de la Paix",
            "Business City": "Paris", "Business Postal Code": "75002",
            "Business Country/Region": "France", "Business Phone": "+33 1 42 68 53 00",
            "Mobile Phone": "+33 6 12 34 56 78", "Birthday": "4/15/1979",
            "Categories": "Clients;VIP", "E-mail Address": "helene.dubois@sgc.example.fr",
            "E-mail Type": "SMTP", "E-mail Display Name": "Hélène Dubois (helene.dubois@sgc.example.fr)",
            "Notes": "Budget owner for 2025.\r\nAsk about the Lyon office.",
        }),
        row(**{
            "First Name": "Kenji", "Last Name": "Watanabe", "Company": "Sakura Trading KK",
            "Job Title": "Export Manager", "Business Phone": "+81 3-1234-5678",
            "Home Phone": "+81 3-9876-5432", "Home Street": "1-2-3 Shibuya",
            "Home City": "Tokyo", "Home Postal Code": "150-0002", "Home Country/Region": "Japan",
            "E-mail Address": "kenji.watanabe@sakura-trading.example.jp", "E-mail Type": "SMTP",
            "E-mail 2 Address": "kenji.w@example.jp", "E-mail 2 Type": "SMTP",
            "Web Page": "https://sakura-trading.example.jp",
        }),
        row(**{
            "First Name": "Bob", "Last Name": "Smith", "Suffix": "Jr.",
            "Mobile Phone": "(555) 010-2233", "E-mail Address": "bob.smith@example.com",
            "E-mail Type": "SMTP", "Categories": "Friends",
        }),
    ]  # fmt: skip
    text = _csv_text(rows, quote_all=True)
    (HERE / "outlook_contacts.csv").write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))


HUBSPOT_HEADERS = [
    "Record ID", "First Name", "Last Name", "Email", "Phone Number", "Mobile Phone Number",
    "Company Name", "Job Title", "Street Address", "City", "State/Region", "Postal Code",
    "Country/Region", "Lifecycle Stage", "Lead Status", "Contact owner", "Create Date",
    "Last Activity Date", "Associated Company", "Marketing contact status",
]  # fmt: skip


def hubspot_export() -> None:
    rows = [
        HUBSPOT_HEADERS,
        ["51", "Amara", "Okafor", "amara@lagosfintech.example", "+234 1 270 0000",
         "+234 803 123 4567", "Lagos Fintech Ltd", "Product Lead", "15 Admiralty Way", "Lekki",
         "Lagos", "106104", "Nigeria", "Customer", "Connected", "Jane Miller",
         "2023-05-04 09:12", "2024-11-20 16:40", "Lagos Fintech Ltd", "Marketing contact"],
        ["52", "Tom", "Becker", "tom.becker@example.com", "", "+1 (646) 555-0188",
         "Becker Design", "Founder", "", "New York", "NY", "10013", "United States",
         "Marketing Qualified Lead", "New", "Jane Miller", "2024-01-17 11:03", "",
         "Becker Design", "Non-marketing contact"],
        ["53", "Sofia", "Rossi", "", "+39 02 1234 5678", "", "", "", "Via Dante 7", "Milano",
         "MI", "20121", "Italy", "Lead", "", "", "2024-06-30 08:00", "", "",
         "Non-marketing contact"],
    ]  # fmt: skip
    (HERE / "hubspot_export.csv").write_text(_csv_text(rows), encoding="utf-8", newline="")


def linkedin_connections() -> None:
    preamble = (
        "Notes:\r\n"
        '"When exporting your connection data, you may notice that some of the email addresses '
        "are missing. You will only see email addresses for connections who have allowed their "
        "connections to see or download their email address using this setting "
        "https://www.linkedin.com/psettings/privacy/email. You can learn more here "
        'https://www.linkedin.com/help/linkedin/answer/261"\r\n'
        "\r\n"
    )
    rows = [
        ["First Name", "Last Name", "URL", "Email Address", "Company", "Position", "Connected On"],
        ["Grace", "Hopper", "https://www.linkedin.com/in/gracehopper-example", "",
         "US Navy", "Rear Admiral", "12 Mar 2019"],
        ["Ada", "Lovelace", "https://www.linkedin.com/in/adalovelace-example",
         "ada@analytical.example", "Analytical Engines, Inc.", "Programmer", "03 Jan 2021"],
        ["Linus", "Svensson", "https://www.linkedin.com/in/linus-svensson-example", "",
         "Kernel AB", "Engineer, Platform", "28 Feb 2024"],
    ]  # fmt: skip
    (HERE / "linkedin_connections.csv").write_text(
        preamble + _csv_text(rows), encoding="utf-8", newline=""
    )


def latin1_semicolon() -> None:
    rows = [
        ["Nom", "Prénom", "Société", "E-mail", "Téléphone", "Ville", "Code postal", "Pays",
         "Remarques"],
        ["Lefèvre", "Cécile", "Crêperie Côté Mer", "cecile@cote-mer.example.fr",
         "02 98 12 34 56", "Quimper", "29000", "France", "Commande moyenne 450 €; fidèle"],
        ["Müller", "Jürgen", "Bäckerei Müller", "j.mueller@baeckerei.example.de",
         "+49 89 123456", "München", "80331", "Deutschland", "Rabatt 5 € pro Kiste"],
        ["García", "José Ñuñez", "Café Olé S.L.", "jose@cafeole.example.es", "+34 912 345 678",
         "Málaga", "29001", "España", "Pagó 1.200 € – «urgente»"],
    ]  # fmt: skip
    text = _csv_text(rows, delimiter=";")
    (HERE / "latin1_semicolon.csv").write_bytes(text.encode("cp1252"))


def contacts_xlsx() -> None:
    import openpyxl
    from openpyxl.styles import Font

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Contacts"
    sheet.append(["Name", "Email", "Mobile", "Birthday", "Zip", "Company", "Tags", "Score"])
    sheet.append(["Mei Chen", "mei.chen@example.com", 4915123456789, dt.date(1990, 2, 28),
                  2134, "Lotus Tech", "vip, beta", 4.5])  # fmt: skip
    sheet.append(["Olu Adeyemi", "olu@example.ng", "+234 803 555 0101",
                  dt.datetime(1975, 11, 3), 10001, "Adeyemi & Co", "partner", 3])  # fmt: skip
    sheet.append([None] * 8)
    sheet.append(["Sam Taylor", "sam@example.co.uk", 447700900123, None, None, None, None, None])
    for row in range(2, 6):
        sheet.cell(row=row, column=5).number_format = "00000"
    # Formatted but empty rows at the end, as spreadsheets often leave behind.
    for row in range(6, 12):
        sheet.cell(row=row, column=1).font = Font(bold=True)
    notes = book.create_sheet("Notes")
    notes.append(["This sheet is not imported."])
    out = io.BytesIO()
    book.save(out)
    (HERE / "contacts.xlsx").write_bytes(out.getvalue())


def _photo_base64() -> str:
    from PIL import Image

    image = Image.new("RGB", (8, 8), (200, 80, 40))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=70)
    return base64.b64encode(out.getvalue()).decode()


def _fold(line: str, width: int = 75) -> str:
    """Fold a content line as RFC 6350 does: continuation lines start with a space."""
    parts = [line[:width]]
    rest = line[width:]
    while rest:
        parts.append(" " + rest[: width - 1])
        rest = rest[width - 1 :]
    return "\r\n".join(parts)


def apple_contacts() -> None:
    photo = _photo_base64()
    cards = [
        [
            "BEGIN:VCARD", "VERSION:3.0", "PRODID:-//Apple Inc.//iPhone OS 17.4//EN",
            "N:Appleseed;Johnny;Q.;Mr.;Jr.", "FN:Mr. Johnny Q. Appleseed Jr.",
            "NICKNAME:Johnny", "ORG:Orchard Computers;Design Studio;", "TITLE:Industrial Designer",
            "item1.EMAIL;type=INTERNET;type=pref:johnny@orchard.example",
            "item1.X-ABLabel:_$!<Other>!$_",
            "EMAIL;type=INTERNET;type=WORK:j.appleseed@orchard.example",
            "TEL;type=CELL;type=VOICE;type=pref:+1 (408) 555-0150",
            "TEL;type=WORK;type=VOICE:+1 408-555-0100",
            "item2.TEL:+1 408 555 0177", "item2.X-ABLabel:Studio line",
            "item3.ADR;type=WORK;type=pref:;Building 4;1 Infinite Loop;Cupertino;CA;95014;United States",
            "item3.X-ABADR:us",
            "item4.URL;type=pref:https://orchard.example/johnny",
            "item4.X-ABLabel:_$!<HomePage>!$_",
            "X-SOCIALPROFILE;type=twitter;x-user=jappleseed:https://twitter.com/jappleseed",
            "BDAY;value=date:1984-01-24",
            _fold("NOTE:Prefers to meet in person. Has two kids\\, Ava and Leo. Introduced by "
                  "Marcus at the 2023 design week\\; follow up about the chair prototype.\\nSecond line."),
            "CATEGORIES:Design,Friends",
            _fold(f"PHOTO;ENCODING=b;TYPE=JPEG:{photo}"),
            "UID:4E0F1C26-8A1B-4F5E-9E3A-3B2A1C0D9E8F",
            "END:VCARD",
        ],
        [
            "BEGIN:VCARD", "VERSION:3.0", "PRODID:-//Apple Inc.//Mac OS X 14.4//EN",
            "N:Ng;Thi Thu;;;", "FN:Thi Thu Ng",
            "EMAIL;type=INTERNET;type=HOME;type=pref:thu.ng@example.vn",
            "item1.EMAIL;type=INTERNET:thu@studio-ng.example",
            "item1.X-ABLabel:Studio",
            "TEL;type=IPHONE;type=CELL;type=VOICE;type=pref:+84 90 123 4567",
            "item2.ADR;type=HOME;type=pref:;;12 Lê Lợi\\nApt 5;Hồ Chí Minh;;700000;Vietnam",
            "item2.X-ABADR:vn",
            "BDAY;X-APPLE-OMIT-YEAR=1604:1604-09-02",
            "UID:9D1B6C7E-2F4A-4C1D-8E2B-6A5F4E3D2C1B",
            "END:VCARD",
        ],
        [
            "BEGIN:VCARD", "VERSION:3.0", "PRODID:-//Apple Inc.//iPhone OS 17.4//EN",
            "N:;;;;", "FN:Blue Bottle Coffee", "ORG:Blue Bottle Coffee;", "X-ABShowAs:COMPANY",
            "TEL;type=MAIN:+1 510-555-0111",
            "item1.URL;type=pref:https://bluebottle.example", "item1.X-ABLabel:_$!<HomePage>!$_",
            "END:VCARD",
        ],
    ]  # fmt: skip
    text = "".join("\r\n".join(card) + "\r\n" for card in cards)
    (HERE / "apple_contacts.vcf").write_text(text, encoding="utf-8", newline="")


def outlook_qp() -> None:
    text = (
        "BEGIN:VCARD\r\n"
        "VERSION:2.1\r\n"
        "N;LANGUAGE=de;CHARSET=Windows-1252;ENCODING=QUOTED-PRINTABLE:M=FCller-L=FCdenscheidt;J=FCrgen;;Herr\r\n"
        "FN;CHARSET=Windows-1252;ENCODING=QUOTED-PRINTABLE:J=FCrgen M=FCller-L=FCdenscheidt\r\n"
        "ORG;CHARSET=Windows-1252;ENCODING=QUOTED-PRINTABLE:Gr=FC=DFe & Partner GmbH;Vertrieb\r\n"
        "TITLE;CHARSET=Windows-1252;ENCODING=QUOTED-PRINTABLE:Gesch=E4ftsf=FChrer\r\n"
        "TEL;WORK;VOICE:+49 (221) 555-0100\r\n"
        "TEL;CELL;VOICE:+49 171 5550101\r\n"
        "ADR;WORK;PREF;CHARSET=Windows-1252;ENCODING=QUOTED-PRINTABLE:;;Stra=DFe des 17. Juni 4=\r\n"
        ";K=F6ln;;50667;Deutschland\r\n"
        "EMAIL;PREF;INTERNET:juergen.mueller@gruesse.example.de\r\n"
        "NOTE;CHARSET=Windows-1252;ENCODING=QUOTED-PRINTABLE:Jahresumsatz ca. 2 Mio =80.=0D=0A=\r\n"
        "Bevorzugt Termine vormittags.\r\n"
        "REV:20240312T101500Z\r\n"
        "END:VCARD\r\n"
        "\r\n"
        "BEGIN:VCARD\r\n"
        "VERSION:3.0\r\n"
        "N;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:=C5str=F6m;Bj=F6rn;;;\r\n"
        "FN;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:Bj=F6rn =C5str=F6m\r\n"
        "EMAIL;TYPE=INTERNET,WORK:bjorn.astrom@example.se\r\n"
        "TEL;TYPE=HOME:+46 8 555 123 45\r\n"
        "END:VCARD\r\n"
    )
    (HERE / "outlook_qp.vcf").write_bytes(text.encode("ascii"))


def contacts_v4() -> None:
    photo = _photo_base64()
    text = "\r\n".join(
        [
            "BEGIN:VCARD", "VERSION:4.0", "KIND:individual", "FN:Dr. Amélie Laurent",
            "N:Laurent;Amélie;;Dr.;", "GENDER:F",
            "EMAIL;TYPE=work;PREF=1:amelie.laurent@institut.example.fr",
            "EMAIL;TYPE=home:amelie@laurent.example",
            'TEL;VALUE=uri;TYPE="voice,cell";PREF=1:tel:+33-6-12-34-56-78',
            "TEL;VALUE=uri;TYPE=work:tel:+33-1-44-27-00-00",
            'ADR;TYPE=work;LABEL="4 place Jussieu\\n75005 Paris\\nFrance":;;4 place Jussieu;Paris;;75005;France',
            "URL;TYPE=work:https://institut.example.fr/laurent",
            "BDAY:19780623", "ANNIVERSARY:20050910", "ORG:Institut de Recherche;Physique",
            "TITLE:Directrice de recherche", "LANG;PREF=1:fr", "LANG;PREF=2:en",
            "IMPP;PREF=1:xmpp:amelie@institut.example.fr",
            "CATEGORIES:Research,Advisors",
            "UID:urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
            _fold(f"PHOTO:data:image/jpeg;base64,{photo}"),
            "END:VCARD",
            "BEGIN:VCARD", "VERSION:4.0", "FN:Rafael Souza", "N:Souza;Rafael;;;",
            "EMAIL:rafael.souza@example.com.br", "TEL;TYPE=cell:+55 11 91234-5678",
            "BDAY:--0415", "NOTE:Birthday without a year\\, as vCard 4 allows.",
            "UID:urn:uuid:1a2b3c4d-0000-4000-8000-000000000002",
            "END:VCARD",
        ]
    )  # fmt: skip
    (HERE / "contacts_v4.vcf").write_text(text + "\r\n", encoding="utf-8", newline="")


def broken_vcf() -> None:
    text = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Good;First;;;\r\nFN:First Good\r\n"
        "EMAIL:first.good@example.com\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Broken;Card;;;\r\nFN:Card Broken\r\n"
        "EMAIL:broken@example.com\r\n"
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Good;Second;;;\r\nFN:Second Good\r\n"
        "TEL:+44 20 7946 0958\r\nEND:VCARD\r\n"
    )
    (HERE / "broken.vcf").write_text(text, encoding="utf-8", newline="")


def google_awkward() -> None:
    """What Google writes that took care: labels joined like the values, a birthday
    without a year, a website that is not one, a company two organizations are named."""

    def row(**values: str) -> list[str]:
        return [values.get(h, "") for h in GOOGLE_HEADERS]

    rows = [
        GOOGLE_HEADERS,
        row(**{
            "First Name": "Noor", "Last Name": "Haddad", "Labels": "* myContacts",
            "E-mail 1 - Label": "Work ::: Home",
            "E-mail 1 - Value": "noor@haddad-work.example ::: noor@haddad-home.example",
            "Phone 1 - Label": "* Mobile ::: Work",
            "Phone 1 - Value": "+44 7911 123456 ::: +44 20 7946 0111",
        }),
        row(**{
            "First Name": "Priya", "Last Name": "Raghunathan", "Birthday": "--08-15",
            "Labels": "* myContacts", "E-mail 1 - Value": "priya.r@example.in",
        }),
        row(**{
            "First Name": "Ines", "Last Name": "Moreau", "Labels": "* myContacts",
            "E-mail 1 - Value": "ines@moreau.example",
            "Website 1 - Label": "Blog", "Website 1 - Value": "http://exa mple..com",
        }),
        row(**{
            "First Name": "Otto", "Last Name": "Kern", "Organization Name": "Acme",
            "E-mail 1 - Value": "otto@acme.de",
        }),
        row(**{
            "First Name": "Lena", "Last Name": "Vogt", "Organization Name": "ACME",
            "E-mail 1 - Value": "lena.vogt@gmail.example",
        }),
    ]  # fmt: skip
    (HERE / "google_awkward.csv").write_bytes(b"\xef\xbb\xbf" + _csv_text(rows).encode())


def main() -> None:
    google_contacts()
    google_awkward()
    outlook_contacts()
    hubspot_export()
    linkedin_connections()
    latin1_semicolon()
    contacts_xlsx()
    apple_contacts()
    outlook_qp()
    contacts_v4()
    broken_vcf()


if __name__ == "__main__":
    main()
