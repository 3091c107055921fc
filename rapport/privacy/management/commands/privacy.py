"""`rapport privacy …`: subject access exports, erasures, re-admissions, retention
policies and the records of processing, from a terminal.

CONTACT is a contact's id or one of its email addresses. Everything goes through the
same services as the web pages and the API, acting as ``--as USER`` (an admin).
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from rapport.access.commands import RecordCommand
from rapport.contacts.models import Contact
from rapport.core.errors import InvalidInput, NotPermitted
from rapport.privacy import records, selectors, services, suppression
from rapport.privacy.models import ErasureLog, Mode, RetentionPolicy, RetentionRun


class Command(RecordCommand):
    help = "Privacy requests: export or erase a person, re-admit one, retention, records."
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        common = [self.common()]

        export = sub.add_parser(
            "export", parents=common, help="Write everything about a person as a ZIP archive."
        )
        export.add_argument("contact", help="The contact's id or one of its email addresses.")
        export.add_argument(
            "-o",
            "--output",
            help="The file to write (default: rapport-subject-ID.zip here; - for stdout).",
        )

        preview = sub.add_parser(
            "preview", parents=common, help="Show what erasing a person would remove."
        )
        preview.add_argument("contact")
        preview.add_argument("--anonymise", action="store_true")

        erase = sub.add_parser(
            "erase",
            parents=common,
            help="Erase a person everywhere (shows what will go, then asks).",
        )
        erase.add_argument("contact")
        erase.add_argument("--yes", action="store_true", help="Do not ask; erase at once.")
        erase.add_argument(
            "--anonymise",
            action="store_true",
            help="Keep an anonymous row for statistics instead of deleting the record.",
        )
        erase.add_argument(
            "--reason", default=ErasureLog.Reason.REQUEST, choices=ErasureLog.Reason.values
        )
        erase.add_argument("--note", default="", help="Kept in the log: no personal details.")
        erase.add_argument(
            "--no-suppress",
            action="store_true",
            help="Do not keep them from being added again (no suppression entry).",
        )

        readmit = sub.add_parser(
            "readmit",
            parents=common,
            help="Take an erased person's address or number off the suppression list.",
        )
        readmit.add_argument("--email", default="")
        readmit.add_argument("--phone", default="")
        readmit.add_argument("--consent", required=True, help="How the person gave consent again.")

        retention = sub.add_parser(
            "retention", parents=common, help="Run the retention policies (or --dry-run)."
        )
        retention.add_argument(
            "--dry-run", action="store_true", help="Count and sample; change nothing."
        )
        retention.add_argument(
            "--policy", type=int, help="Only this policy (by id), enabled or not."
        )
        retention.add_argument("--list", action="store_true", help="List the policies.")

        record = sub.add_parser(
            "records", parents=common, help="The records of processing (GDPR Art. 30)."
        )
        record.add_argument("--format", choices=("csv", "html", "json"), default="csv")
        record.add_argument("-o", "--output", help="The file to write (default: stdout).")

        sub.add_parser("log", parents=common, help="Recent erasures, exports and re-admissions.")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self.actor(options)
        action = options["action"]
        try:
            getattr(self, f"do_{action}")(actor, options)
        except Contact.DoesNotExist as exc:
            raise CommandError(str(exc) or "There is no such contact.") from None
        except RetentionPolicy.DoesNotExist:
            raise CommandError(
                f"There is no retention policy with id {options['policy']}."
            ) from None
        except InvalidInput as exc:
            raise CommandError(
                f"{self.refused}:\n" + "\n".join(f"  {e}" for e in exc.errors)
            ) from None
        except NotPermitted as exc:
            raise CommandError(str(exc)) from None

    refused = "Nothing was changed"

    def contact_id(self, options: dict[str, Any]) -> int:
        return services.contact_find(options["contact"])

    # -- export ---------------------------------------------------------------------

    def do_export(self, actor: Any, options: dict[str, Any]) -> None:
        from rapport.privacy.services.exports import subject_export_to

        contact_id = self.contact_id(options)
        output = options.get("output") or f"rapport-subject-{contact_id}.zip"
        if output == "-":
            with tempfile.TemporaryFile() as out:
                subject_export_to(actor=actor, contact_id=contact_id, out=out, via="cli")
                out.seek(0)
                shutil.copyfileobj(out, sys.stdout.buffer)
                sys.stdout.flush()
            return
        path = Path(output)
        if path.is_dir():
            path = path / f"rapport-subject-{contact_id}.zip"
        services.subject_of(contact_id)  # an unknown contact leaves no empty file behind
        try:
            with path.open("wb") as out:
                job = subject_export_to(actor=actor, contact_id=contact_id, out=out, via="cli")
        except OSError as exc:
            path.unlink(missing_ok=True)
            raise CommandError(f"Cannot write {path}: {exc.strerror}.") from None
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        self.stderr.write(f"Wrote {path} ({job.size:,} bytes); logged as export #{job.pk}.")

    # -- erasure --------------------------------------------------------------------

    def print_preview(self, preview: services.ErasurePreview) -> None:
        out = self.stderr.write
        what = "Anonymising" if preview.mode == Mode.ANONYMISE else "Erasing"
        merged = (
            f" (and {', '.join(f'#{pk}' for pk in preview.merged_ids)} merged into it)"
            if preview.merged_ids
            else ""
        )
        out(f"{what} contact #{preview.contact_id}{merged} removes:")
        for part in preview.parts:
            if part.shown:
                out(f"  {part.label}:")
                for phrase, n in part.shown.items():
                    out(f"    {n:>6,}  {phrase}")
        if preview.mode == Mode.ERASE:
            out(
                f"and leaves {preview.suppress_emails} email address(es) and "
                f"{preview.suppress_phones} phone number(s) on the suppression list "
                "(as keyed hashes)."
            )

    def do_preview(self, actor: Any, options: dict[str, Any]) -> None:
        mode = Mode.ANONYMISE if options["anonymise"] else Mode.ERASE
        preview = services.erasure_preview(
            actor=actor, contact_id=self.contact_id(options), mode=mode
        )
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "contact_id": preview.contact_id,
                        "merged_ids": list(preview.merged_ids),
                        "areas": {p.name: p.shown for p in preview.parts},
                        "suppression": {
                            "emails": preview.suppress_emails,
                            "phones": preview.suppress_phones,
                        },
                    },
                    indent=2,
                )
            )
            return
        self.print_preview(preview)

    def do_erase(self, actor: Any, options: dict[str, Any]) -> None:
        mode = Mode.ANONYMISE if options["anonymise"] else Mode.ERASE
        contact_id = self.contact_id(options)
        preview = services.erasure_preview(actor=actor, contact_id=contact_id, mode=mode)
        self.print_preview(preview)
        if not options["yes"]:
            stdin = options.get("stdin") or sys.stdin
            if not stdin.isatty() and options.get("stdin") is None:
                raise CommandError(
                    "Nothing was erased: confirm by typing the contact's id when asked, "
                    "or pass --yes."
                )
            self.stderr.write(f"Type {contact_id} to confirm, anything else to stop: ", ending="")
            self.stderr.flush()
            answer = stdin.readline().strip().lstrip("#")
            if answer != str(contact_id):
                raise CommandError("Nothing was erased.")
        log = services.contact_erase(
            actor=actor,
            contact_id=contact_id,
            confirmation=preview.confirmation,
            reason=options["reason"],
            note=options["note"],
            suppress=not options["no_suppress"],
            mode=mode,
            via="cli",
        )
        if options["json"]:
            self.stdout.write(
                json.dumps({"erasure": log.pk, "counts": log.counts, "suppressed": log.suppressed})
            )
        done = "Anonymised" if mode == Mode.ANONYMISE else "Erased"
        self.stderr.write(
            f"{done} contact #{contact_id}: {log.total:,} records removed, "
            f"{log.suppressed} suppression entries (log #{log.pk})."
        )

    # -- re-admission ---------------------------------------------------------------

    def do_readmit(self, actor: Any, options: dict[str, Any]) -> None:
        done = suppression.suppression_readmit(
            actor=actor,
            email=options["email"],
            phone=options["phone"],
            consent=options["consent"],
            via="cli",
        )
        self.stderr.write(
            f"Re-admitted: {done.removed} suppression entr{'y' if done.removed == 1 else 'ies'} "
            f"removed (erased on {done.erased_on}); logged as re-admission #{done.pk}."
        )

    # -- retention ------------------------------------------------------------------

    def do_retention(self, actor: Any, options: dict[str, Any]) -> None:
        if options["list"]:
            for p in selectors.retention_policy_list(actor=actor):
                state = "" if p.enabled else " (paused)"
                self.stdout.write(f"{p.pk}\t{p.name}\t{p.action}\t{p.filters}{state}")
            return
        dry = options["dry_run"]
        if options["policy"]:
            retention = selectors.retention_policy_get(actor=actor, policy_id=options["policy"])
            runs = [
                services.retention_run(
                    actor=actor, retention=retention, trigger=RetentionRun.Trigger.CLI, dry_run=dry
                )
            ]
        else:
            runs = services.retention_run_all(
                actor=actor, trigger=RetentionRun.Trigger.CLI, dry_run=dry
            )
        if not runs:
            self.stderr.write("No retention policy is enabled.")
        for run in runs:
            self.report_run(run, options)
        if any(run.status == RetentionRun.Status.FAILED for run in runs):
            raise CommandError("A retention run failed; see above.")

    def report_run(self, run: RetentionRun, options: dict[str, Any]) -> None:
        if options["json"]:
            names = selectors.contact_names(run.sample_ids)
            self.stdout.write(
                json.dumps(
                    {
                        "run": run.pk,
                        "policy": run.policy_name,
                        "dry_run": run.dry_run,
                        "status": run.status,
                        "matched": run.matched,
                        "processed": run.processed,
                        "failed": run.failed,
                        "sample": [{"id": pk, "name": names.get(pk, "")} for pk in run.sample_ids],
                        "error": run.error,
                    }
                )
            )
            return
        verb = "anonymise" if run.action == Mode.ANONYMISE else "erase"
        if run.status == RetentionRun.Status.FAILED:
            self.stderr.write(f"{run.policy_name}: failed: {run.error}")
        elif run.dry_run:
            self.stdout.write(f"{run.policy_name}: would {verb} {run.matched:,} contact(s).")
            names = selectors.contact_names(run.sample_ids)
            for pk in run.sample_ids:
                self.stdout.write(f"  {pk}\t{names.get(pk, '')}")
        else:
            self.stdout.write(
                f"{run.policy_name}: {verb}d {run.processed:,} of {run.matched:,} contact(s)"
                + (f", {run.failed:,} failed" if run.failed else "")
                + "."
            )

    # -- records and log ------------------------------------------------------------

    def do_records(self, actor: Any, options: dict[str, Any]) -> None:
        record = records.processing_record(actor=actor)
        if options["format"] == "csv":
            text = records.record_csv(record)
        elif options["format"] == "html":
            text = records.record_html(record)
        else:
            text = json.dumps(records.record_json(record), indent=2, default=str)
        if options.get("output"):
            try:
                Path(options["output"]).write_text(text, encoding="utf-8")
            except OSError as exc:
                raise CommandError(f"Cannot write {options['output']}: {exc.strerror}.") from None
            return
        self.stdout.write(text)

    def do_log(self, actor: Any, options: dict[str, Any]) -> None:
        for log in selectors.erasure_list(actor=actor, limit=20):
            who = log.actor.username if log.actor else "system"
            self.stdout.write(
                f"{log.at:%Y-%m-%d %H:%M}\t{log.get_mode_display()}\tcontact #{log.contact_id}"
                f"\tby {who} via {log.via}\t{log.total:,} records\t{log.get_reason_display()}"
            )
        for job in selectors.export_list(actor=actor, limit=20):
            who = job.requested_by.username if job.requested_by else "system"
            self.stdout.write(
                f"{job.created_at:%Y-%m-%d %H:%M}\tExport\tcontact #{job.contact_id}"
                f"\tby {who} via {job.via}\t{job.get_status_display()}"
            )
