"""Column presets: known exports are recognised and mapped; other files get a first guess."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from rapport.ingest import presets
from rapport.ingest.mapping import is_target
from rapport.ingest.parsers import detect

DATA = Path(__file__).parent / "data"

GOOGLE_LEGACY = (  # noqa: SIM905 - pasted as the export writes it
    "Name,Given Name,Additional Name,Family Name,Yomi Name,Given Name Yomi,Additional Name Yomi,"
    "Family Name Yomi,Name Prefix,Name Suffix,Initials,Nickname,Short Name,Maiden Name,Birthday,"
    "Gender,Location,Billing Information,Directory Server,Mileage,Occupation,Hobby,Sensitivity,"
    "Priority,Subject,Notes,Language,Photo,Group Membership,E-mail 1 - Type,E-mail 1 - Value,"
    "E-mail 2 - Type,E-mail 2 - Value,E-mail 3 - Type,E-mail 3 - Value,Phone 1 - Type,"
    "Phone 1 - Value,Phone 2 - Type,Phone 2 - Value,Address 1 - Type,Address 1 - Formatted,"
    "Address 1 - Street,Address 1 - City,Address 1 - PO Box,Address 1 - Region,"
    "Address 1 - Postal Code,Address 1 - Country,Address 1 - Extended Address,"
    "Organization 1 - Type,Organization 1 - Name,Organization 1 - Yomi Name,"
    "Organization 1 - Title,Organization 1 - Department,Organization 1 - Symbol,"
    "Organization 1 - Location,Organization 1 - Job Description,Website 1 - Type,"
    "Website 1 - Value,Custom Field 1 - Type,Custom Field 1 - Value"
).split(",")


def headers_of(name: str) -> list[str]:
    return detect(DATA / name, name).headers


def assert_valid(mapping: dict[str, str], headers: list[str]) -> None:
    assert list(mapping) == headers
    targets = [t for t in mapping.values() if t]
    assert all(is_target(t) for t in targets), [t for t in targets if not is_target(t)]
    assert [t for t, n in Counter(targets).items() if n > 1] == []


@pytest.mark.parametrize(
    ("file_name", "preset"),
    [
        ("google_contacts.csv", "google"),
        ("outlook_contacts.csv", "outlook"),
        ("hubspot_export.csv", "hubspot"),
        ("linkedin_connections.csv", "linkedin"),
    ],
)
def test_each_known_export_is_recognised_from_its_headers(file_name, preset):
    headers = headers_of(file_name)
    found = presets.detect_preset(headers)
    assert found is not None and found[0] == preset
    assert_valid(found[1], headers)


def test_google_numbered_columns_map_to_numbered_fields_with_their_labels():
    name, mapping = presets.detect_preset(headers_of("google_contacts.csv"))
    assert presets.preset_label(name) == "Google Contacts"
    assert mapping["E-mail 1 - Value"] == "emails[0].address"
    assert mapping["E-mail 2 - Label"] == "emails[1].label"
    assert mapping["E-mail 2 - Value"] == "emails[1].address"
    assert mapping["Phone 2 - Value"] == "phones[1].number"
    assert mapping["Address 1 - City"] == "addresses[0].locality"
    assert mapping["Address 1 - Postal Code"] == "addresses[0].postcode"
    assert mapping["Website 1 - Value"] == "urls[0].url"
    assert mapping["Organization Name"] == "organization.name"
    assert mapping["Organization Title"] == "job_title"
    assert mapping["Labels"] == "tags"
    assert mapping["Address 1 - Formatted"] == mapping["Phonetic First Name"] == ""


def test_the_older_google_format_is_recognised_too():
    name, mapping = presets.detect_preset(GOOGLE_LEGACY)
    assert name == "google_legacy"
    assert_valid(mapping, GOOGLE_LEGACY)
    assert mapping["Name"] == "full_name"
    assert mapping["Given Name"] == "given_name"
    assert mapping["E-mail 3 - Type"] == "emails[2].label"
    assert mapping["E-mail 3 - Value"] == "emails[2].address"
    assert mapping["Phone 2 - Type"] == "phones[1].label"
    assert mapping["Group Membership"] == "tags"
    assert mapping["Organization 1 - Name"] == "organization.name"
    assert mapping["Organization 1 - Department"] == "affiliation.department"
    assert mapping["Custom Field 1 - Value"] == ""


def test_outlook_columns_fill_numbered_emails_phones_and_addresses():
    _, mapping = presets.detect_preset(headers_of("outlook_contacts.csv"))
    assert mapping["Title"] == "prefix"
    assert mapping["E-mail Address"] == "emails[0].address"
    assert mapping["E-mail 2 Address"] == "emails[1].address"
    assert mapping["E-mail Display Name"] == ""
    assert mapping["Mobile Phone"].startswith("phones[")
    assert mapping["Business Phone"].startswith("phones[")
    assert mapping["Business City"] == "addresses[0].locality"
    assert mapping["Home Country/Region"] == "addresses[1].country"
    assert mapping["Categories"] == "tags"
    assert mapping["Company"] == "organization.name"
    assert mapping["Job Title"] == "job_title"


def test_hubspot_record_ids_become_external_ids_and_its_own_vocabulary_is_left_alone():
    _, mapping = presets.detect_preset(headers_of("hubspot_export.csv"))
    assert mapping["Record ID"] == "external_id"
    assert mapping["Email"] == "emails[0].address"
    assert mapping["Mobile Phone Number"] == "phones[1].number"
    assert mapping["State/Region"] == "addresses[0].region"
    assert mapping["Lifecycle Stage"] == mapping["Contact owner"] == ""


def test_linkedin_connections_map_position_and_profile_url():
    _, mapping = presets.detect_preset(headers_of("linkedin_connections.csv"))
    assert mapping == {
        "First Name": "given_name",
        "Last Name": "family_name",
        "URL": "urls[0].url",
        "Email Address": "emails[0].address",
        "Company": "organization.name",
        "Position": "job_title",
        "Connected On": "",
    }


def test_presets_ignore_case_spacing_and_a_few_unknown_columns():
    headers = [h.upper() for h in headers_of("linkedin_connections.csv")] + ["My Notes"]
    name, mapping = presets.detect_preset(headers)
    assert name == "linkedin"
    assert mapping["EMAIL ADDRESS"] == "emails[0].address"
    assert mapping["My Notes"] == ""


def test_a_file_no_preset_knows_gets_none():
    assert presets.detect_preset(["Name", "Email", "Phone"]) is None
    assert presets.detect_preset([]) is None


def test_rapport_exports_map_to_themselves():
    headers = ["id", "display_name", "given_name", "family_name", "emails[0].address", "tags"]
    name, mapping = presets.detect_preset(headers)
    assert name == "rapport"
    assert mapping["emails[0].address"] == "emails[0].address"
    assert mapping["id"] == mapping["display_name"] == ""


def test_common_header_names_are_guessed_and_the_rest_left_unmapped():
    headers = [
        "Email",
        "E-mail",
        "Mobile",
        "Phone",
        "Surname",
        "First name",
        "Company",
        "Title",
        "City",
        "Country",
        "Zip",
        "Tags",
        "Website",
        "Favourite colour",
    ]
    mapping = presets.guess_mapping(headers)
    assert_valid(mapping, headers)
    assert mapping == {
        "Email": "emails[0].address",
        "E-mail": "emails[1].address",
        "Mobile": "phones[0].number",
        "Phone": "phones[1].number",
        "Surname": "family_name",
        "First name": "given_name",
        "Company": "organization.name",
        "Title": "job_title",
        "City": "addresses[0].locality",
        "Country": "addresses[0].country",
        "Zip": "addresses[0].postcode",
        "Tags": "tags",
        "Website": "urls[0].url",
        "Favourite colour": "",
    }


def test_guessing_reads_accented_headers_and_numbered_columns():
    mapping = presets.guess_mapping(headers_of("latin1_semicolon.csv"))
    assert mapping["Prénom"] == "given_name"
    assert mapping["Société"] == "organization.name"
    assert mapping["Téléphone"] == "phones[0].number"
    assert mapping["Code postal"] == "addresses[0].postcode"
    numbered = presets.guess_mapping(["Email 2", "Email 1", "Email", "Phone 1", "Name", "Name (2)"])
    assert numbered == {
        "Email 2": "emails[1].address",
        "Email 1": "emails[0].address",
        "Email": "emails[2].address",
        "Phone 1": "phones[0].number",
        "Name": "full_name",
        "Name (2)": "",
    }


def test_the_xlsx_sample_gets_a_usable_first_mapping():
    mapping = presets.guess_mapping(headers_of("contacts.xlsx"))
    assert mapping["Name"] == "full_name"
    assert mapping["Mobile"] == "phones[0].number"
    assert mapping["Birthday"] == "birthday"
    assert mapping["Score"] == ""


@pytest.mark.parametrize(
    ("header", "label"),
    [
        ("Mobile Phone", "mobile"),
        ("Business Phone 2", "work"),
        ("Business Fax", "work fax"),
        ("Home Street", "home"),
        ("Assistant's Phone", "assistant"),
        ("E-mail 2 Address", ""),
    ],
)
def test_a_column_name_implies_the_label_of_its_values(header, label):
    assert presets.implied_label(header) == label


def test_a_google_export_trimmed_of_its_identifying_columns_still_maps_its_numbered_ones():
    headers = [
        "Name",
        "E-mail 1 - Type",
        "E-mail 1 - Value",
        "Phone 1 - Value",
        "Address 1 - City",
        "Organization 1 - Name",
        "Group Membership",
    ]
    assert presets.detect_preset(headers) is None  # no "Given Name", "Family Name"…
    assert presets.guess_mapping(headers) == {
        "Name": "full_name",
        "E-mail 1 - Type": "emails[0].label",
        "E-mail 1 - Value": "emails[0].address",
        "Phone 1 - Value": "phones[0].number",
        "Address 1 - City": "addresses[0].locality",
        "Organization 1 - Name": "organization.name",
        "Group Membership": "tags",
    }
