"""Pages and fields under odd input: dates beyond the calendar, deep NOTs, digits that
are not ASCII, custom fields a contact does not have, ages of date-only fields."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from rapport.contacts.models import Contact
from rapport.contacts.services import custom_field_create
from rapport.contacts.tests.factories import make_contact
from rapport.segments import selectors, services

pytestmark = pytest.mark.django_db


def loose(user):
    c = Client(raise_request_exception=False)
    c.force_login(user)
    return c


def test_html_preview_date_overflow(alice):
    r = loose(alice).post("/segments/preview/", {"query": "created:9999-12-31"})
    assert r.status_code == 200, r.status_code


def test_html_preview_deep_not(alice):
    r = loose(alice).post("/segments/preview/", {"query": "NOT " * 600 + "has:email"})
    assert r.status_code == 200, r.status_code


def test_list_detail_unicode_digit(alice):
    lst = services.list_create(actor=alice, data={"name": "L"})
    r = loose(alice).post(f"/lists/{lst.pk}/", {"ids": ["\u00b2"]})
    assert r.status_code in (302, 200), r.status_code


def test_segment_edit_unicode_digit_version(alice):
    seg = services.segment_create(actor=alice, data={"name": "S", "query": "has:email"})
    r = loose(alice).post(
        f"/segments/{seg.pk}/edit/", {"name": "S", "query": "has:email", "version": "\u00b2"}
    )
    assert r.status_code in (302, 200), r.status_code


def test_not_a_custom_value_includes_contacts_without_the_field(alice):
    custom_field_create(
        actor=alice,
        data={"target": "contact", "key": "team", "label": "Team", "field_type": "text"},
    )
    a = make_contact(custom_fields={"team": "red"})
    b = make_contact(custom_fields={"team": "blue"})
    c = make_contact()
    pos = set(selectors.query_matching(alice, "custom.team:red").values_list("pk", flat=True))
    neg = set(selectors.query_matching(alice, "NOT custom.team:red").values_list("pk", flat=True))
    set(selectors.query_matching(alice, "custom.team:!=red").values_list("pk", flat=True))
    assert pos == {a.pk}
    selectors.query_explain(alice, "NOT custom.team:red", c.pk)
    assert neg == {b.pk, c.pk}  # complement of pos


def test_an_age_on_a_date_field_stops_at_today(alice):
    c = make_contact()
    tomorrow = timezone.now().date() + dt.timedelta(days=1)
    Contact.objects.filter(pk=c.pk).update(reach_out_by=tomorrow)
    found = selectors.query_matching(alice, "reach_out_by:<7d").filter(pk=c.pk).exists()
    assert not found  # tomorrow is not "within the last 7 days"
