"""The legal calling rules Rapport ships with: the US, Florida and France.

Data, not code: admins change them (or add others) under Settings → Calling rules.
"""

from django.db import migrations

EVERY_DAY = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
RULES = [
    {
        "name": "US telephone solicitation hours",
        "country": "US",
        "subdivision": "",
        "channels": ["call", "sms"],
        "hours": {day: ["08:00-21:00"] for day in EVERY_DAY},
        "source": "47 CFR 64.1200(c)(1) (TCPA): not before 8 a.m. or after 9 p.m. at the "
        "called party's location.",
    },
    {
        "name": "Florida telephone solicitation hours",
        "country": "US",
        "subdivision": "FL",
        "channels": ["call", "sms"],
        "hours": {day: ["08:00-20:00"] for day in EVERY_DAY},
        "source": "Florida Statutes 501.059(8)(a): not before 8 a.m. or after 8 p.m. in the "
        "called person's time zone.",
    },
    {
        "name": "Démarchage téléphonique",
        "country": "FR",
        "subdivision": "",
        "channels": ["call"],
        "hours": {
            day: ["10:00-13:00", "14:00-20:00"] for day in ("mon", "tue", "wed", "thu", "fri")
        },
        "no_public_holidays": True,
        "max_attempts": 4,
        "attempts_period_days": 30,
        "refusal_silence_days": 60,
        "source": "Code de la consommation L221-16 and D221-17 (décret n° 2022-1313): weekdays "
        "10:00-13:00 and 14:00-20:00, never on public holidays, at most 4 calls in 30 days, "
        "60 days of silence after a refusal.",
    },
]


def add_rules(apps, schema_editor):
    CallingRule = apps.get_model("outreach", "CallingRule")
    for rule in RULES:
        if not CallingRule.objects.filter(
            country=rule["country"], subdivision=rule["subdivision"], name=rule["name"]
        ).exists():
            CallingRule.objects.create(**rule)


def remove_rules(apps, schema_editor):
    CallingRule = apps.get_model("outreach", "CallingRule")
    for rule in RULES:
        CallingRule.objects.filter(
            country=rule["country"], subdivision=rule["subdivision"], name=rule["name"]
        ).delete()


class Migration(migrations.Migration):
    dependencies = [("outreach", "0001_initial")]

    operations = [migrations.RunPython(add_rules, remove_rules)]
