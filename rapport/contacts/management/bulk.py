"""`rapport contacts bulk` and `rapport organizations bulk`: one action on many records.

Both commands build their own filters and hand them here; the action runs through
``rapport.contacts.services.bulk`` like the list page's bulk bar and the API do.
"""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.management.base import CommandError

from rapport.access.commands import RecordCommand
from rapport.contacts.models import BulkJob


def add_bulk_parser(sub: Any, common: list[Any], *, kind: str, actions: list[str]) -> Any:
    """The `bulk` subcommand with the options every kind shares; the caller adds its
    filters. ``kind`` is the plural noun ("contacts")."""
    singular = kind.removesuffix("s")
    changes = "set the owner or stage of" if "set_stage" in actions else "set the owner of"
    parser = sub.add_parser(
        "bulk", parents=common, help=f"Tag, untag, {changes}, or delete many {kind}."
    )
    parser.add_argument("bulk_action", choices=actions)
    parser.add_argument(
        "value",
        nargs="?",
        default="",
        help="Tag name, username (empty: nobody) or stage."
        if "set_stage" in actions
        else "Tag name or username (empty: nobody).",
    )
    parser.add_argument(
        "--id", dest="ids", type=int, action="append", help=f"{singular.title()} id (repeatable)."
    )
    parser.add_argument(
        "--all-matching",
        action="store_true",
        help=f"Every {singular} matching --query and the filters (instead of --id).",
    )
    parser.add_argument("--query", default="", help="Search text.")
    parser.add_argument("--tag", action="append", default=[], help="Only with this tag.")
    parser.add_argument("--owner", help="Only owned by this username.")
    parser.add_argument("--country", help="Only with an address in this country.")
    parser.add_argument("--yes", action="store_true", help="Confirm a delete.")
    parser.add_argument(
        "--expect-count",
        type=int,
        metavar="N",
        help=f"Do nothing unless exactly N {kind} are selected (a count taken earlier).",
    )
    return parser


def run_bulk(
    command: RecordCommand, actor: Any, options: dict[str, Any], *, kind: str, filters: Any
) -> None:
    """Start the action, run it here unless a worker already took it, report the end."""
    from rapport.contacts.services import bulk

    singular = kind.removesuffix("s")
    if bool(options["ids"]) == bool(options["all_matching"]):
        raise CommandError(f"Give {singular} ids with --id, or --all-matching with filters.")
    if options["bulk_action"] == BulkJob.Action.DELETE and not options["yes"]:
        raise CommandError(f"Deleting {kind} needs --yes.")
    job = command.call(
        bulk.bulk_start,
        kind=kind,
        actor=actor,
        action=options["bulk_action"],
        value=options["value"],
        ids=options["ids"] if options["ids"] else None,
        q=options["query"],
        filters=filters,
        via="cli",
        expected_count=options["expect_count"],
    )
    if job.is_active:
        job = command.call(bulk.bulk_run, job_id=job.pk)
        while job.is_active:  # a worker took it first: follow its progress
            command.stderr.write(f"{job.done:,} of {job.total:,} done")
            time.sleep(1)
            job.refresh_from_db()
    if options["json"]:
        from rapport.contacts.api.bulk import job_out

        command.stdout.write(json.dumps(job_out(job), indent=2, default=str, ensure_ascii=False))
    else:
        command.stderr.write(bulk.bulk_job_summary(job))
        for failure in job.failures:
            command.stderr.write(f"  {failure['id']} {failure['name']}: {failure['message']}")
    if job.status == BulkJob.Status.FAILED:
        raise CommandError(job.error)
