"""`rapport setup`: migrate, and on first run create the admin user and the demo data."""

from __future__ import annotations

import os
import secrets

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from rapport.access.models import User
from rapport.contacts.models import Contact

ADMIN_USERNAME = "admin"


class Command(BaseCommand):
    help = "Prepare the database: migrate, create the admin user and demo data on first run."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-demo", action="store_true", help="Do not load demo data.")

    def handle(self, *args: object, **options: object) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        self._admin()
        if not options["no_demo"] and not Contact.objects.exists():
            self.stdout.write("Loading demo data (500 people, 80 organizations)…")
            call_command("demo", contacts=500, organizations=80, realistic=True)

    def _admin(self) -> None:
        """Create the admin user once, saying where its password came from."""
        given = os.environ.get("RAPPORT_ADMIN_PASSWORD", "")
        if User.objects.filter(username=ADMIN_USERNAME).exists():
            note = (
                " (RAPPORT_ADMIN_PASSWORD is used only when the user is created)" if given else ""
            )
            self.stdout.write(
                f"Admin user: {ADMIN_USERNAME} (already exists; password unchanged{note})."
            )
            return
        if given:
            try:
                validate_password(given, User(username=ADMIN_USERNAME))
            except ValidationError as exc:
                raise CommandError(
                    "RAPPORT_ADMIN_PASSWORD is too weak; nothing was created:\n"
                    + "\n".join(f"  {message}" for message in exc.messages)
                ) from None
        password = given or secrets.token_urlsafe(12)
        User.objects.create_superuser(
            username=ADMIN_USERNAME, password=password, role=User.Role.ADMIN
        )
        if given:
            self.stdout.write(
                f"Created the admin user: {ADMIN_USERNAME} (password from RAPPORT_ADMIN_PASSWORD)."
            )
        else:
            self.stdout.write(
                f"Created the admin user: {ADMIN_USERNAME} (password generated).\n"
                f"  username: {ADMIN_USERNAME}\n  password: {password}  (shown only this once)"
            )
