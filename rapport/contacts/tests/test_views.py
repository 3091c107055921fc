"""The contact and organization pages as a signed-in user sees them."""

from __future__ import annotations

import re

from rapport.contacts import services
from rapport.contacts.models import Contact, CustomFieldDefinition, Organization, Tag
from rapport.contacts.tests.factories import employ, make_contact, make_organization

HTMX = {"HTTP_HX_REQUEST": "true"}


def _contact_post(**overrides: str) -> dict[str, str]:
    data = {
        "full_name": "",
        "given_name": "Grace",
        "family_name": "Hopper",
        "lifecycle_stage": "lead",
        "emails-0-address": "grace@example.com",
        "emails-0-label": "work",
        "emails-primary": "0",
        "phones-0-number": "",
    }
    data.update(overrides)
    return data


# ---------------------------------------------------------------- list and search


def test_it_sends_signed_out_visitors_to_the_login_page(client, db):
    response = client.get("/contacts/")
    assert response.status_code == 302
    assert response.url.startswith("/login/?next=/contacts/")


def test_the_list_shows_each_contact_with_primary_email_phone_and_organization(alice, alice_client):
    org = make_organization(alice, name="Analytical Engines")
    ada = make_contact(
        alice,
        given_name="Ada",
        family_name="Lovelace",
        emails=[{"address": "ada@example.com"}],
        phones=[{"number": "+44 20 7946 0018"}],
        tags=["Pioneer"],
    )
    employ(ada, org, alice, title="Analyst")
    html = alice_client.get("/contacts/").content.decode()
    assert "Ada Lovelace" in html
    assert "ada@example.com" in html
    assert "+44 20 7946 0018" in html
    assert "Analytical Engines" in html
    assert "Pioneer" in html


def test_the_list_needs_a_fixed_number_of_queries_however_many_contacts_it_shows(
    alice, alice_client, django_assert_max_num_queries
):
    org = make_organization(alice)
    for i in range(25):
        c = make_contact(
            alice,
            phones=[{"number": f"+1 202 555 01{i:02d}"}],
            addresses=[{"locality": "Boston", "country": "US"}],
            tags=["Customer", f"Batch {i % 3}"],
        )
        employ(c, org, alice)
    # 19: with the newer areas' list parts (the reach column reads the calling rules,
    # which a process keeps for a few seconds) and the saved views; an N+1 would add 25
    with django_assert_max_num_queries(19):
        response = alice_client.get("/contacts/")
    assert response.content.decode().count('class="record-link"') == 25
    # A search reads prefix matches, then substring matches: two fixed sets of queries;
    # then the match count (with its time limit: four more on PostgreSQL).
    with django_assert_max_num_queries(19):
        alice_client.get("/contacts/?q=Example", **HTMX)


def test_search_as_you_type_returns_only_the_matching_rows(alice, alice_client):
    make_contact(alice, given_name="Ada", family_name="Lovelace")
    make_contact(alice, given_name="Charles", family_name="Babbage")
    response = alice_client.get("/contacts/?q=lovel", **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert "Ada Lovelace" in html
    assert "Babbage" not in html
    assert "HX-Request" in response["Vary"]


def test_the_search_box_updates_results_as_the_user_types(alice_client):
    html = alice_client.get("/contacts/").content.decode()
    assert 'hx-trigger="input changed delay:250ms, search"' in html
    assert 'id="results" aria-live="polite"' in html


def test_an_empty_search_offers_to_add_the_name(alice, alice_client):
    html = alice_client.get("/contacts/?q=Nobody%20Here", **HTMX).content.decode()
    assert "No contacts match" in html
    assert "/contacts/new/?name=Nobody%20Here" in html


def test_load_more_follows_the_keyset_cursor_without_repeating_anyone(alice, alice_client):
    for i in range(30):
        make_contact(alice, given_name=f"Person{i:02d}", family_name="Paged")
    first = alice_client.get("/contacts/?sort=name").content.decode()
    cursor = re.search(r'cursor=([^&"]+)&amp;fragment=rows', first)
    assert cursor, "the first page links to the next one"
    second = alice_client.get(
        f"/contacts/?sort=name&cursor={cursor.group(1)}&fragment=rows", **HTMX
    ).content.decode()
    first_names = set(re.findall(r"Person\d\d Paged", first))
    second_names = set(re.findall(r"Person\d\d Paged", second))
    assert len(first_names) == 25
    assert len(second_names) == 5
    assert not first_names & second_names
    assert "Load more" not in second


def test_a_tampered_cursor_shows_a_message_instead_of_failing(alice_client):
    response = alice_client.get("/contacts/?cursor=not-a-cursor")
    assert response.status_code == 400
    assert "This cursor is not valid." in response.content.decode()


def test_bad_filters_are_explained_on_the_page(alice_client):
    response = alice_client.get("/contacts/?created_after=yesterday-ish&country=Atlantis")
    html = response.content.decode()
    assert response.status_code == 400
    assert "Atlantis" in html
    assert "created_after" in html


def test_filters_narrow_the_list(alice, bob, alice_client):
    org = make_organization(alice, name="Initech")
    peter = make_contact(
        alice, given_name="Peter", family_name="Gibbons", lifecycle_stage="customer"
    )
    employ(peter, org, alice)
    make_contact(bob, given_name="Milton", family_name="Waddams", owner="bob", tags=["Stapler"])
    by_org = alice_client.get(f"/contacts/?organization={org.pk}").content.decode()
    assert "Peter Gibbons" in by_org and "Milton" not in by_org
    by_owner = alice_client.get("/contacts/?owner=bob").content.decode()
    assert "Milton Waddams" in by_owner and "Peter" not in by_owner
    by_tag = alice_client.get("/contacts/?tag=stapler").content.decode()
    assert "Milton Waddams" in by_tag and "Peter" not in by_tag
    by_stage = alice_client.get("/contacts/?lifecycle_stage=customer").content.decode()
    assert "Peter Gibbons" in by_stage and "Milton" not in by_stage


def test_custom_field_filters_use_the_definition(alice, alice_client):
    services.custom_field_create(
        actor=alice,
        data={
            "target": "contact",
            "key": "tier",
            "label": "Tier",
            "field_type": "choice",
            "choices": ["Gold", "Silver"],
        },
    )
    make_contact(alice, given_name="Goldie", custom_fields={"tier": "Gold"})
    make_contact(alice, given_name="Silvia", custom_fields={"tier": "Silver"})
    html = alice_client.get("/contacts/?custom.tier=Gold").content.decode()
    assert "Goldie" in html and "Silvia" not in html
    bad = alice_client.get("/contacts/?custom.nope=1")
    assert bad.status_code == 400
    assert "There is no such custom field." in bad.content.decode()


def test_the_global_search_finds_people_and_organizations(alice, alice_client):
    make_contact(alice, given_name="Ada", family_name="Lovelace")
    make_organization(alice, name="Lovelace Computing")
    dropdown = alice_client.get("/search/?q=lovelace", **HTMX).content.decode()
    assert "Ada Lovelace" in dropdown
    assert "Lovelace Computing" in dropdown
    page = alice_client.get("/search/?q=lovelace").content.decode()
    assert "<html" in page and "Lovelace Computing" in page


# ---------------------------------------------------------------- contact page


def test_the_contact_page_shows_every_field(alice, alice_client):
    services.custom_field_create(
        actor=alice,
        data={
            "target": "contact",
            "key": "shoe_size",
            "label": "Shoe size",
            "field_type": "number",
        },
    )
    org = make_organization(alice, name="Analytical Engines")
    boss = make_contact(alice, given_name="Charles", family_name="Babbage")
    employ(boss, org, alice, title="Founder")
    ada = make_contact(
        alice,
        prefix="Countess",
        given_name="Ada",
        family_name="Lovelace",
        nickname="Enchantress of Numbers",
        emails=[{"address": "ada@example.com", "label": "home"}],
        phones=[{"number": "020 7946 0018", "label": "office"}],
        addresses=[{"street": "12 St James's Square", "locality": "London", "country": "GB"}],
        urls=[{"url": "https://example.com/ada", "kind": "website"}],
        birthday="1985-12-10",
        job_title="Analyst",
        time_zone="Europe/London",
        language="en",
        notes="Wrote the first program.",
        source="Referral",
        lifecycle_stage="partner",
        tags=["Pioneer"],
        custom_fields={"shoe_size": 37},
    )
    employ(ada, org, alice, title="Analyst", buying_role="champion", reports_to=boss.pk)
    html = alice_client.get(f"/contacts/{ada.pk}/").content.decode()
    for text in (
        "Enchantress of Numbers",
        "ada@example.com",
        "+44 20 7946 0018",
        "United Kingdom",
        "example.com/ada",
        "10 December 1985",
        "Europe/London",
        "Wrote the first program.",
        "Referral",
        "Partner",
        "Pioneer",
        "Shoe size",
        "37",
        "Analytical Engines",
        "Champion",
        "Reports to",
        "Charles Babbage",
        "Timeline",
        "created this contact",
    ):
        assert text in html, text


def test_the_history_lists_who_changed_which_field_from_what_to_what(alice, alice_client):
    ada = make_contact(alice, given_name="Ada", job_title="Analyst")
    services.contact_update(actor=alice, contact=ada, data={"job_title": "Programmer"})
    html = alice_client.get(f"/contacts/{ada.pk}/").content.decode()
    assert "Job title" in html
    assert "<del>Analyst</del>" in html
    assert "<ins>Programmer</ins>" in html
    assert "Alice" in html


def test_an_unknown_contact_is_a_404_page(alice_client):
    response = alice_client.get("/contacts/999999/")
    assert response.status_code == 404
    assert "We can’t find that page" in response.content.decode()


def test_buttons_follow_the_role(alice, alice_client, charlie_client):
    ada = make_contact(alice, given_name="Ada")
    assert f"/contacts/{ada.pk}/edit/" in alice_client.get(f"/contacts/{ada.pk}/").content.decode()
    seen_by_charlie = charlie_client.get(f"/contacts/{ada.pk}/").content.decode()
    assert f"/contacts/{ada.pk}/edit/" not in seen_by_charlie
    assert f"/contacts/{ada.pk}/delete/" not in seen_by_charlie
    assert "/contacts/new/" not in charlie_client.get("/contacts/").content.decode()


def test_a_read_only_user_gets_403_for_every_write(alice, charlie_client):
    ada = make_contact(alice, given_name="Ada")
    assert charlie_client.get("/contacts/new/").status_code == 403
    assert charlie_client.post("/contacts/new/", _contact_post()).status_code == 403
    assert charlie_client.post(f"/contacts/{ada.pk}/edit/", _contact_post()).status_code == 403
    assert charlie_client.post(f"/contacts/{ada.pk}/delete/").status_code == 403
    assert Contact.objects.count() == 1


# ---------------------------------------------------------------- create and edit


def test_a_member_creates_a_contact_from_a_full_name(bob, bob_client):
    response = bob_client.post(
        "/contacts/new/",
        _contact_post(given_name="", family_name="", full_name="Dr. Grace B. Hopper"),
    )
    contact = Contact.objects.get()
    assert response.status_code == 302
    assert response.url == f"/contacts/{contact.pk}/"
    assert (contact.prefix, contact.given_name, contact.middle_name, contact.family_name) == (
        "Dr.",
        "Grace",
        "B.",
        "Hopper",
    )
    assert contact.owner == bob
    assert contact.emails.get().address == "grace@example.com"


def test_name_parts_typed_explicitly_win_over_the_split_full_name(bob_client):
    bob_client.post(
        "/contacts/new/",
        _contact_post(full_name="Grace Hopper", given_name="Amazing", family_name=""),
    )
    contact = Contact.objects.get()
    assert (contact.given_name, contact.family_name) == ("Amazing", "Hopper")


def test_an_invalid_phone_is_shown_next_to_its_input_and_nothing_is_saved(bob_client):
    response = bob_client.post(
        "/contacts/new/",
        _contact_post(**{"phones-0-number": "+1 555", "emails-1-address": "not-an-email"}),
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert Contact.objects.count() == 0
    phone_error = re.search(r'id="f-phones-0-number-error"[^>]*>([^<]+)<', html)
    assert phone_error and "not a valid phone number" in phone_error.group(1)
    assert re.search(r'id="f-emails-1-address-error"', html)
    assert 'aria-invalid="true"' in html
    assert 'value="+1 555"' in html, "what the user typed is kept"
    assert "2 things need fixing" in html


def test_errors_point_at_the_right_row_when_blank_rows_are_skipped(bob_client):
    response = bob_client.post(
        "/contacts/new/",
        _contact_post(**{"phones-0-number": "", "phones-1-number": "12"}),
    )
    html = response.content.decode()
    assert re.search(r'id="f-phones-1-number-error"', html)
    assert not re.search(r'id="f-phones-0-number-error"', html)


def test_a_contact_needs_something_to_call_it(bob_client):
    response = bob_client.post(
        "/contacts/new/", _contact_post(given_name="", family_name="", **{"emails-0-address": ""})
    )
    assert response.status_code == 422
    assert 'id="f-given_name-error"' in response.content.decode()


def test_custom_fields_are_rendered_by_type_and_validated(alice, bob_client):
    services.custom_field_create(
        actor=alice,
        data={
            "target": "contact",
            "key": "size",
            "label": "Size",
            "field_type": "choice",
            "choices": ["S", "M", "L"],
            "required": True,
        },
    )
    services.custom_field_create(
        actor=alice,
        data={"target": "contact", "key": "vip", "label": "VIP", "field_type": "boolean"},
    )
    services.custom_field_create(
        actor=alice,
        data={
            "target": "contact",
            "key": "interests",
            "label": "Interests",
            "field_type": "multi_choice",
            "choices": ["Golf", "Chess"],
        },
    )
    form = bob_client.get("/contacts/new/").content.decode()
    assert '<select id="f-cf-size" name="cf-size"' in form
    assert 'type="checkbox" name="cf-interests" value="Chess"' in form
    missing = bob_client.post("/contacts/new/", _contact_post())
    assert missing.status_code == 422
    assert 'id="f-cf-size-error"' in missing.content.decode()
    saved = bob_client.post(
        "/contacts/new/",
        {**_contact_post(), "cf-size": "M", "cf-vip": "yes", "cf-interests": ["Chess", "Golf"]},
    )
    assert saved.status_code == 302
    assert Contact.objects.get().custom_fields == {
        "size": "M",
        "vip": True,
        "interests": ["Golf", "Chess"],
    }


def test_the_edit_form_shows_existing_rows_plus_an_empty_one(alice, alice_client):
    ada = make_contact(
        alice, given_name="Ada", emails=[{"address": "a@example.com"}, {"address": "b@example.com"}]
    )
    html = alice_client.get(f"/contacts/{ada.pk}/edit/").content.decode()
    assert 'name="emails-0-address" type="email" value="a@example.com"' in html
    assert 'name="emails-1-address" type="email" value="b@example.com"' in html
    assert 'name="emails-2-address" type="email" value=""' in html
    assert f'name="version" value="{ada.version}"' in html
    assert 'id="tpl-emails"' in html


def test_editing_saves_changes_and_blank_rows_remove_entries(alice, bob_client):
    ada = make_contact(
        alice,
        given_name="Ada",
        family_name="Lovelace",
        emails=[{"address": "a@example.com"}, {"address": "b@example.com"}],
    )
    response = bob_client.post(
        f"/contacts/{ada.pk}/edit/",
        {
            "version": str(ada.version),
            "given_name": "Ada",
            "family_name": "King",
            "lifecycle_stage": "customer",
            "owner": "alice",
            "emails-0-address": "",
            "emails-1-address": "b@example.com",
            "tags": "VIP, Pioneer",
        },
    )
    assert response.status_code == 302
    ada.refresh_from_db()
    assert ada.family_name == "King"
    assert ada.lifecycle_stage == "customer"
    assert [e.address for e in ada.emails.all()] == ["b@example.com"]
    assert sorted(t.name for t in ada.tags.all()) == ["Pioneer", "VIP"]


def test_a_concurrent_edit_is_refused_with_a_clear_message(alice, alice_client, bob_client):
    ada = make_contact(alice, given_name="Ada", job_title="Analyst")
    stale = str(ada.version)
    services.contact_update(actor=alice, contact=ada, data={"job_title": "Programmer"})
    response = bob_client.post(
        f"/contacts/{ada.pk}/edit/",
        _contact_post(version=stale, given_name="Ada", job_title="Poet"),
    )
    html = response.content.decode()
    assert response.status_code == 409
    assert "changed by someone else" in html
    assert "not saved" in html
    assert 'value="Poet"' in html, "the user's edits are still in the form"
    ada.refresh_from_db()
    assert ada.job_title == "Programmer"


def test_deleting_a_contact_asks_first_then_removes_it(alice, bob_client):
    ada = make_contact(alice, given_name="Ada")
    assert "Delete Ada" in bob_client.get(f"/contacts/{ada.pk}/delete/").content.decode()
    response = bob_client.post(f"/contacts/{ada.pk}/delete/", {"version": str(ada.version)})
    assert response.url == "/contacts/"
    assert not Contact.objects.filter(pk=ada.pk).exists()


def test_the_contact_picker_suggests_matching_people(alice, alice_client):
    ada = make_contact(alice, given_name="Ada", family_name="Lovelace")
    html = alice_client.get("/contacts/lookup/?field=contact&contact=lovel").content.decode()
    assert f'value="Ada Lovelace #{ada.pk}"' in html


# ---------------------------------------------------------------- organizations


def test_the_organization_page_draws_the_account_map_from_reporting_lines(alice, alice_client):
    org = make_organization(alice, name="Initech", industry="Software")
    child = make_organization(alice, name="Initech Labs", parent=org.pk)
    ceo = make_contact(alice, given_name="Bill", family_name="Lumbergh")
    dev = make_contact(alice, given_name="Peter", family_name="Gibbons")
    employ(ceo, org, alice, title="VP", buying_role="decision_maker")
    employ(dev, org, alice, title="Engineer", buying_role="blocker", reports_to=ceo.pk)
    html = alice_client.get(f"/organizations/{org.pk}/").content.decode()
    chart = html[html.index('class="org-chart"') :]
    # Peter's box is nested inside Bill's list item.
    bill = chart.index("Bill Lumbergh")
    peter = chart.index("Peter Gibbons")
    assert bill < chart.index("<ul>", bill) < peter
    assert "role--decision_maker" in chart and "role--blocker" in chart
    assert "Initech Labs" in html
    assert child.pk


def test_organizations_are_listed_and_searchable(alice, alice_client):
    make_organization(alice, name="Initech")
    make_organization(alice, name="Globex")
    html = alice_client.get("/organizations/?q=inite", **HTMX).content.decode()
    assert "Initech" in html and "Globex" not in html


def test_an_organization_form_shows_errors_inline(bob_client):
    response = bob_client.post(
        "/organizations/new/", {"name": "", "website": "not a url at all", "phones-0-number": "1"}
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert 'id="f-name-error"' in html
    assert 'id="f-phones-0-number-error"' in html
    assert Organization.objects.count() == 0


def test_an_organization_is_created_and_edited(bob, bob_client):
    response = bob_client.post(
        "/organizations/new/",
        {
            "name": "Initech",
            "domains": "initech.com, initech.io",
            "size_band": "50-249",
            "addresses-0-locality": "Austin",
            "addresses-0-country": "United States",
        },
    )
    org = Organization.objects.get()
    assert response.url == f"/organizations/{org.pk}/"
    assert org.domains == ["initech.com", "initech.io"]
    assert org.addresses.get().country == "US"
    edit = bob_client.post(
        f"/organizations/{org.pk}/edit/",
        {
            "version": str(org.version),
            "name": "Initech Inc.",
            "addresses-0-locality": "Austin",
            "addresses-0-country": "US",
        },
    )
    assert edit.status_code == 302
    org.refresh_from_db()
    assert org.name == "Initech Inc."


def test_people_are_added_to_an_organization_with_a_reporting_line(alice, bob_client):
    org = make_organization(alice, name="Initech")
    boss = make_contact(alice, given_name="Bill")
    employ(boss, org, alice)
    peter = make_contact(alice, given_name="Peter")
    form = bob_client.get(f"/organizations/{org.pk}/people/new/").content.decode()
    assert f'<option value="{boss.pk}"' in form
    response = bob_client.post(
        f"/organizations/{org.pk}/people/new/",
        {
            "contact": f"Peter #{peter.pk}",
            "title": "Engineer",
            "reports_to": str(boss.pk),
            "buying_role": "user",
        },
    )
    assert response.url == f"/organizations/{org.pk}/"
    affiliation = peter.affiliations.get()
    assert (affiliation.reports_to_id, affiliation.buying_role) == (boss.pk, "user")


def test_an_affiliation_error_is_shown_next_to_the_field(alice, bob_client):
    org = make_organization(alice)
    response = bob_client.post(
        f"/organizations/{org.pk}/people/new/",
        {"contact": "somebody", "start_date": "2024-05-01", "end_date": "2020-01-01"},
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert 'id="f-contact-error"' in html
    assert 'id="f-end_date-error"' in html


def test_ending_a_role_keeps_the_person_among_past_people(alice, bob_client):
    org = make_organization(alice)
    peter = make_contact(alice, given_name="Peter")
    affiliation = employ(peter, org, alice)
    response = bob_client.post(f"/affiliations/{affiliation.pk}/end/")
    assert response.url == f"/organizations/{org.pk}/"
    affiliation.refresh_from_db()
    assert affiliation.is_current is False
    assert affiliation.end_date is not None


def test_a_role_is_added_from_the_contact_page(alice, bob_client):
    org = make_organization(alice, name="Initech")
    peter = make_contact(alice, given_name="Peter")
    response = bob_client.post(
        f"/contacts/{peter.pk}/affiliations/new/",
        {"organization": f"Initech #{org.pk}", "title": "Engineer"},
    )
    assert response.url == f"/contacts/{peter.pk}/"
    assert peter.affiliations.get().organization == org


# ---------------------------------------------------------------- tags and custom fields


def test_members_create_tags_but_only_admins_rename_or_delete(alice_client, bob_client):
    assert bob_client.post("/tags/", {"name": "Partner", "color": "#1d4ed8"}).status_code == 302
    tag = Tag.objects.get()
    assert (
        bob_client.post(f"/tags/{tag.pk}/edit/", {"name": "X", "color": "#000000"}).status_code
        == 403
    )
    assert bob_client.post(f"/tags/{tag.pk}/delete/").status_code == 403
    assert (
        alice_client.post(
            f"/tags/{tag.pk}/edit/", {"name": "Partners", "color": "#dc2626"}
        ).status_code
        == 302
    )
    tag.refresh_from_db()
    assert (tag.name, tag.color) == ("Partners", "#dc2626")
    assert alice_client.post(f"/tags/{tag.pk}/delete/").status_code == 302
    assert not Tag.objects.exists()


def test_a_duplicate_tag_name_is_explained(alice_client):
    alice_client.post("/tags/", {"name": "VIP", "color": "#1d4ed8"})
    response = alice_client.post("/tags/", {"name": "vip", "color": "#1d4ed8"})
    assert response.status_code == 422
    assert "already exists" in response.content.decode()


def test_the_tag_page_shows_colours_and_usage(alice, charlie_client):
    make_contact(alice, tags=["VIP"])
    html = charlie_client.get("/tags/").content.decode()
    assert "VIP" in html and "1 contact" in html
    assert "Create tag" not in html


def test_only_admins_manage_custom_fields(bob_client, alice_client):
    assert bob_client.get("/settings/custom-fields/").status_code == 403
    assert bob_client.post("/settings/custom-fields/new/", {"label": "X"}).status_code == 403
    response = alice_client.post(
        "/settings/custom-fields/new/",
        {
            "target": "contact",
            "label": "Contract value",
            "field_type": "number",
            "help_text": "In euros",
        },
    )
    assert response.status_code == 302
    definition = CustomFieldDefinition.objects.get()
    assert definition.key == "contract_value"
    assert "Contract value" in alice_client.get("/settings/custom-fields/").content.decode()


def test_a_choice_field_without_choices_is_refused_inline(alice_client):
    response = alice_client.post(
        "/settings/custom-fields/new/",
        {"target": "contact", "label": "Size", "field_type": "choice", "choices": ""},
    )
    assert response.status_code == 422
    assert 'id="f-choices-error"' in response.content.decode()


def test_a_custom_field_is_edited_and_deleted(alice, alice_client):
    definition = services.custom_field_create(
        actor=alice,
        data={"target": "contact", "label": "Size", "field_type": "choice", "choices": ["S"]},
    )
    response = alice_client.post(
        f"/settings/custom-fields/{definition.pk}/edit/",
        {"label": "T-shirt size", "choices": "S\nM\nL", "required": "on"},
    )
    assert response.status_code == 302
    definition.refresh_from_db()
    assert (definition.label, definition.choices, definition.required) == (
        "T-shirt size",
        ["S", "M", "L"],
        True,
    )
    alice_client.post(f"/settings/custom-fields/{definition.pk}/delete/")
    assert not CustomFieldDefinition.objects.exists()


def test_no_page_links_to_an_outside_asset(alice, alice_client):
    ada = make_contact(alice)
    for path in ("/contacts/", f"/contacts/{ada.pk}/", "/contacts/new/", "/organizations/"):
        html = alice_client.get(path).content.decode()
        assert not re.search(r'(src|href)="(https?:)?//', html), path
        assert "/static/vendor/htmx/htmx.min.js" in html
