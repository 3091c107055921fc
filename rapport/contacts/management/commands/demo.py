"""`rapport demo`: load demo people and organizations (fast enough for a million)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rapport.contacts.demo import demo_load


class Command(BaseCommand):
    help = "Add realistic demo contacts and organizations from several countries."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--contacts", type=int, default=500, help="People to add (500).")
        parser.add_argument(
            "--organizations", type=int, default=80, help="Organizations to add (80)."
        )
        parser.add_argument(
            "--realistic",
            action="store_true",
            help="Also add notes, social profiles and a history entry per record.",
        )
        parser.add_argument("--seed", type=int, default=None, help="Seed for repeatable data.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args: object, **options: object) -> None:
        contacts = int(options["contacts"])  # type: ignore[call-overload]
        organizations = int(options["organizations"])  # type: ignore[call-overload]
        if contacts < 0 or organizations < 0:
            raise CommandError("--contacts and --organizations cannot be negative.")
        started = time.monotonic()
        result = demo_load(
            contacts=contacts,
            organizations=organizations,
            realistic=bool(options["realistic"]),
            seed=options["seed"],  # type: ignore[arg-type]
            progress=not options["no_progress"] and int(options["verbosity"]) > 0,  # type: ignore[call-overload]
        )
        self.stdout.write(
            f"Added {result.contacts} contacts, {result.organizations} organizations and "
            f"{result.affiliations} affiliations in {time.monotonic() - started:.1f} s."
        )
