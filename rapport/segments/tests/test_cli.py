"""`rapport segment …` as a terminal user runs it: count, members, explain, export,
save and list; a bad query exits 1 with the position and nothing saved."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import CommandError, call_command

from rapport.contacts.services import tag_create
from rapport.contacts.tests.factories import make_contact
from rapport.segments.models import Segment

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("segment", *args, "--as", "alice", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_count_members_explain_export_and_save(alice, tmp_path):
    tag_create(actor=alice, data={"name": "vip"})
    ada = make_contact(given_name="Ada", family_name="Lovelace", tags=["vip"])
    make_contact(given_name="Bob", family_name="Miller")
    assert run("count", "tag:vip").strip() == "1"
    assert run("members", "NOT tag:vip").split("\t")[1] == "Bob Miller"
    explained = run("explain", "tag:vip AND city:Paris", str(ada.pk))
    assert explained.splitlines() == ["no   AND", "  yes  tag:vip", "  no   city:Paris"]

    target = tmp_path / "vips.csv"
    run("export", "tag:vip", "-o", str(target))
    rows = list(csv.DictReader(target.open(encoding="utf-8-sig")))
    assert [r["family_name"] for r in rows] == ["Lovelace"]

    run("save", "VIPs", "tag:vip  OR tag:vip")
    assert Segment.objects.get().query == "tag:vip OR tag:vip"
    assert "VIPs\tshared\ttag:vip OR tag:vip" in run("list")
    assert run("refresh", "VIPs").split("\t")[1:] == ["1 members", "1 entered", "0 left\n"]
    assert run("changes", "VIPs").split("\t")[1:] == ["entered", str(ada.pk), "Ada Lovelace\n"]


def test_a_bad_query_is_refused_with_its_position_and_nothing_is_saved(alice):
    with pytest.raises(CommandError, match="at 10: The query ends too soon"):
        run("save", "Broken", "tag:vip (")
    with pytest.raises(CommandError, match="There is no field “colour”"):
        run("count", "colour:red")
    assert not Segment.objects.exists()
