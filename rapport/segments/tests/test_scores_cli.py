"""`rapport scores …` as a terminal user runs it: list, show (rules, top contacts,
spread) and refresh; an unknown key or a rule that cannot run exits 1 saying why."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from rapport.contacts.models import Tag
from rapport.contacts.services import tag_create
from rapport.contacts.tests.factories import make_contact
from rapport.segments import services
from rapport.segments.models import ContactScore

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("scores", *args, "--as", "alice", stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def lead(alice):
    tag_create(actor=alice, data={"name": "vip"})
    make_contact(given_name="Ada", family_name="Lovelace", tags=["vip"])
    make_contact(given_name="Bob", family_name="Miller")
    return services.score_create(
        actor=alice,
        data={"name": "Lead", "description": "Who to call first", "rules": [
            {"kind": "match", "label": "VIP", "points": 20, "query": "tag:vip"},
            {"kind": "activity", "points": 3, "interaction": "email", "direction": "in",
             "half_life_days": 14, "cap": 30},
        ]},
    )  # fmt: skip


def test_list_show_and_refresh(lead):
    assert run("list") == "lead\tLead\t2 rules\tnot computed yet\n"
    assert run("refresh", "lead") == "lead\t1 contacts with points\t1 changed\n"
    assert run("refresh") == "lead\t1 contacts with points\t0 changed\n"
    shown = run("show", "lead").splitlines()
    assert shown[0] == "Lead (score.lead)" and shown[1] == "Who to call first"
    assert shown[3:6] == [
        "Rules:",
        "  1. VIP: +20 when tag:vip",
        "  2. +3 per inbound email in the last 90 days, halved every 14 days, at most 30 in all",
    ]
    assert shown[6:] == ["Top:", "  20\t" + str(ContactScore.objects.get().contact_id)
                         + "\tAda Lovelace", "Spread:", "  20\t1", "  0 (no points)\t1"]  # fmt: skip
    as_json = json.loads(run("show", "lead", "--json"))
    assert as_json["top"][0]["name"] == "Ada Lovelace" and as_json["zero"] == 1
    assert json.loads(run("list", "--json"))[0]["rules"][1]["half_life_days"] == 14


def test_an_unknown_score_or_a_rule_that_cannot_run_exits_1(lead):
    with pytest.raises(CommandError, match="There is no score “leed”"):
        run("show", "leed")
    run("refresh", "lead")
    Tag.objects.filter(name_key="vip").delete()  # the rule's tag is gone
    with pytest.raises(CommandError, match="its values were kept"):
        run("refresh", "lead")
    lead.refresh_from_db()
    assert lead.problem == "Rule 1 cannot run: at 5: There is no tag “vip”."
    assert ContactScore.objects.filter(score=lead).count() == 1


def test_segment_members_sort_by_a_score_on_the_command_line(lead):
    services.scores_refresh(score=lead)
    out = io.StringIO()
    call_command("segment", "members", "has:email", "--sort=-score.lead", "--as", "alice",
                 stdout=out)  # fmt: skip
    lines = [line.split("\t") for line in out.getvalue().splitlines()]
    assert [(line[1], line[-1]) for line in lines] == [("Ada Lovelace", "20"), ("Bob Miller", "0")]
