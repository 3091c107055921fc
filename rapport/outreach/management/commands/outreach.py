"""`rapport outreach …`: preferences, the gate, who is reachable, attempts and rules, from
a terminal, through the same services as the pages and the API (acting as ``--as USER``).

    rapport outreach prefs show 12
    rapport outreach prefs set 12 --refuse call --hours mon-fri=09:00-17:00 --language fr
    rapport outreach prefs set 12 --json-input prefs.json      (a full replacement)
    rapport outreach gate 12 --channel call --purpose sales [--at 2026-03-08T07:30Z]
    rapport outreach reachable --channel email --purpose newsletter
    rapport outreach attempt 12 --channel call --purpose sales --outcome refused
    rapport outreach rules
    rapport outreach refresh
    rapport outreach bulk-list [--status done] [--purpose newsletter] [--limit 50] [--json]
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone

from rapport.access.commands import RecordCommand, read_json_input
from rapport.contacts.models import Contact
from rapport.core import policy
from rapport.outreach.channels import CHANNELS
from rapport.outreach.hours import DAYS
from rapport.outreach.models import CallingRule
from rapport.outreach.selectors.preferences import contact_preferences_get


def _moment(text: str | None) -> dt.datetime:
    if not text:
        return timezone.now()
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise CommandError(f"--at: “{text}” is not an ISO 8601 moment.") from None
    if moment.tzinfo is None:
        raise CommandError("--at: give a time zone offset, e.g. 2026-03-08T07:30+00:00.")
    return moment


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.datetime) else str(value)


def _days(spec: str) -> list[str]:
    """ "mon-fri", "sat", "mon,wed" -> day keys."""
    found: list[str] = []
    for part in spec.lower().split(","):
        first, _, last = part.strip().partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise CommandError(f"--hours: “{part}” is not a day or range of days (mon-fri).")
        a, b = DAYS.index(first), DAYS.index(last or first)
        found += [DAYS[i % 7] for i in range(a, a + (b - a) % 7 + 1)]
    return found


class Command(RecordCommand):
    help = "Communication preferences, the contact gate, attempts and calling rules."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        common = [self.common()]
        prefs = sub.add_parser("prefs", parents=common, help="Show or set preferences.")
        prefs.add_argument("what", choices=("show", "set"))
        prefs.add_argument("contact", type=int)
        prefs.add_argument("--json-input", help="A JSON object replacing everything (- for stdin).")
        for status in ("allow", "prefer", "refuse", "unset"):
            prefs.add_argument(f"--{status}", action="append", default=[], metavar="CHANNEL")
        prefs.add_argument(
            "--hours",
            action="append",
            default=[],
            metavar="DAYS=WINDOWS",
            help="mon-fri=09:00-12:00,14:00-17:00 (repeatable); --hours none clears them.",
        )
        prefs.add_argument("--do-not-contact", choices=("yes", "no", "unset"))
        prefs.add_argument("--avoid-holidays", choices=("yes", "no", "unset"))
        prefs.add_argument("--language")
        prefs.add_argument("--note")
        gate = sub.add_parser("gate", parents=common, help="May we reach a contact now?")
        gate.add_argument("contact", type=int)
        gate.add_argument("--channel", required=True, choices=CHANNELS)
        gate.add_argument("--purpose", required=True)
        gate.add_argument("--at", help="ISO 8601 moment with offset (default: now).")
        reachable = sub.add_parser("reachable", parents=common, help="Count who may be reached.")
        reachable.add_argument("--channel", required=True, choices=CHANNELS)
        reachable.add_argument("--purpose", default="")
        reachable.add_argument("--at")
        reachable.add_argument("--ids", action="store_true", help="Print their ids.")
        attempt = sub.add_parser("attempt", parents=common, help="Log an outbound attempt.")
        attempt.add_argument("contact", type=int)
        attempt.add_argument("--channel", required=True)
        attempt.add_argument("--purpose", default="")
        attempt.add_argument("--outcome", required=True)
        attempt.add_argument("--note", default="")
        sub.add_parser("rules", parents=common, help="List the calling rules.")
        sub.add_parser("refresh", parents=common, help="Recompute where contacts are.")
        bulk_list = sub.add_parser(
            "bulk-list", parents=common, help="The bulk sends you started (admins: all)."
        )
        bulk_list.add_argument("--status", help="queued, running, done or failed.")
        bulk_list.add_argument("--purpose", help="A purpose's key.")
        bulk_list.add_argument("--limit", type=int, default=50, help="At most 200.")
        bulk_list.add_argument("--cursor", help="Continue after a previous page.")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self.actor(options)
        action = options["action"].replace("-", "_")
        getattr(self, f"do_{action}")(actor, options)

    def do_prefs(self, actor: Any, options: dict[str, Any]) -> None:
        contact = self.fetch(Contact, options["contact"])
        data, version = self.call(contact_preferences_get, actor=actor, contact_id=contact.pk)
        if options["what"] == "set":
            from rapport.outreach.services.preferences import contact_preferences_set

            if options["json_input"]:
                data = read_json_input(options["json_input"], self.stdin)
            else:
                data = self._edited(data, options)
            self.call(
                contact_preferences_set,
                actor=actor,
                contact=contact,
                data=data,
                expected_version=version,
                via="cli",
            )
            data, version = contact_preferences_get(actor=actor, contact_id=contact.pk)
        if options["json"]:
            self.stdout.write(json.dumps({**data, "version": version}, indent=2))
            return
        self.stdout.write(f"{contact.display_name} (#{contact.pk}), version {version}")
        for channel, status in data["channels"].items():
            self.stdout.write(f"  {channel:10} {status or '-'}")
        hours = ", ".join(f"{w['day']} {w['start']}-{w['end']}" for w in data["hours"] or [])
        self.stdout.write(f"  hours      {hours or '-'}")
        self.stdout.write(
            f"  do not contact {data['do_not_contact']}, language {data['language'] or '-'}"
        )
        for cap in data["caps"]:
            self.stdout.write(f"  cap        {cap}")

    def _edited(self, data: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
        data = {**data, "channels": dict(data["channels"])}
        for flag, status in (
            ("allow", "allowed"),
            ("prefer", "preferred"),
            ("refuse", "refused"),
            ("unset", None),
        ):
            for channel in options[flag]:
                data["channels"][channel] = status
        if options["hours"]:
            windows: list[dict[str, str]] = []
            for spec in options["hours"]:
                if spec == "none":
                    windows = []
                    continue
                days, sep, spans = spec.partition("=")
                if not sep:
                    raise CommandError("--hours: give DAYS=WINDOWS, e.g. mon-fri=09:00-17:00.")
                for day in _days(days):
                    for span in spans.split(","):
                        start, _, end = span.partition("-")
                        windows.append({"day": day, "start": start, "end": end})
            data["hours"] = windows or None
        tri = {"yes": True, "no": False, "unset": None}
        if options["do_not_contact"]:
            data["do_not_contact"] = tri[options["do_not_contact"]]
        if options["avoid_holidays"]:
            data["avoid_holidays"] = tri[options["avoid_holidays"]]
        for key in ("language", "note"):
            if options[key] is not None:
                data[key] = options[key]
        return data

    def do_gate(self, actor: Any, options: dict[str, Any]) -> None:
        from rapport.outreach.gate import contact_gate

        policy.require(actor, "contacts.view")
        contact = self.fetch(Contact, options["contact"])
        decision = self.call(
            contact_gate,
            contact=contact,
            channel=options["channel"],
            purpose=options["purpose"],
            at=_moment(options["at"]),
        )
        if options["json"]:
            self.stdout.write(json.dumps(decision.as_dict(), indent=2))
            return
        verdict = "ALLOWED" if decision.allowed else "NOT NOW"
        self.stdout.write(
            f"{verdict}: {contact.display_name}, {decision.channel}, {decision.purpose}"
        )
        for reason in decision.reasons:
            mark = "ok " if reason.allowed else "NO "
            self.stdout.write(f"  {mark} {reason.step:14} {reason.text}")
        if decision.allowed:
            return
        if decision.next_allowed_at is None:
            self.stdout.write("  next allowed: never (until what is named above changes)")
        else:
            local = decision.next_allowed_local
            self.stdout.write(
                f"  next allowed: {decision.next_allowed_at:%Y-%m-%d %H:%M} UTC"
                + (f" = {local:%a %Y-%m-%d %H:%M} {decision.time_zone}" if local else "")
            )

    def do_reachable(self, actor: Any, options: dict[str, Any]) -> None:
        from rapport.outreach.selectors.reachable import contacts_reachable

        policy.require(actor, "contacts.view")
        started = time.perf_counter()
        qs = self.call(
            contacts_reachable,
            queryset=Contact.objects.all(),
            channel=options["channel"],
            purpose=options["purpose"],
            at=_moment(options["at"]),
        )
        if options["ids"]:
            for pk in qs.values_list("id", flat=True).order_by("id").iterator(chunk_size=5000):
                self.stdout.write(str(pk))
            return
        count = qs.count()
        seconds = time.perf_counter() - started
        if options["json"]:
            self.stdout.write(json.dumps({"count": count, "seconds": round(seconds, 3)}))
        else:
            self.stdout.write(f"{count:,} contacts may be reached ({seconds:.1f} s)")

    def do_attempt(self, actor: Any, options: dict[str, Any]) -> None:
        from rapport.outreach.services.attempts import attempt_log

        contact = self.fetch(Contact, options["contact"])
        attempt = self.call(
            attempt_log,
            actor=actor,
            contact=contact,
            channel=options["channel"],
            purpose=options["purpose"],
            outcome=options["outcome"],
            note=options["note"],
            via="cli",
        )
        self.stdout.write(f"Logged attempt {attempt.pk}: {attempt}")

    def do_rules(self, actor: Any, options: dict[str, Any]) -> None:
        policy.require(actor, "contacts.view")
        for rule in CallingRule.objects.all():
            state = "" if rule.active else " (inactive)"
            self.stdout.write(
                f"#{rule.pk} {rule.place:6} {rule.name}{state}: {', '.join(rule.channels)}"
            )

    def do_refresh(self, actor: Any, options: dict[str, Any]) -> None:
        from rapport.outreach.services.reach import reach_refresh_stale

        policy.require(actor, "contacts.change")
        started = time.perf_counter()
        count = reach_refresh_stale()
        self.stdout.write(f"{count:,} contacts refreshed in {time.perf_counter() - started:.1f} s")

    def do_bulk_list(self, actor: Any, options: dict[str, Any]) -> None:
        from rapport.outreach.selectors.bulk import bulk_send_list

        page = self.call(
            bulk_send_list,
            actor=actor,
            cursor=options["cursor"],
            limit=options["limit"],
            status=options["status"],
            purpose=options["purpose"],
        )
        if options["json"]:
            from rapport.outreach.api.bulk import bulk_send_out

            items = [bulk_send_out(entry.job, entry.counts) for entry in page.items]
            body = {"items": items, "next_cursor": page.next_cursor}
            self.stdout.write(json.dumps(body, indent=2, default=_iso))
            return
        if not page.items:
            self.stdout.write("No bulk sends.")
        for entry in page.items:
            job, counts = entry.job, entry.counts
            when = timezone.localtime(job.created_at)
            self.stdout.write(
                f"#{job.pk:<6} {when:%Y-%m-%d %H:%M %Z}  {job.status:8} {job.purpose:16}"
                f" total {job.total:<6} sent {counts.sent:<6} blocked {counts.blocked:<6}"
                f" failed {counts.failed}"
            )
        if page.next_cursor:
            self.stderr.write(f"More: --cursor {page.next_cursor}")
