"""`rapport setup`: migrate, and on first run create the admin user and the demo data."""

from __future__ import annotations

import os
import secrets

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from rapport.access.models import User
from rapport.contacts.models import Contact


class Command(BaseCommand):
    help = "Prepare the database: migrate, create the admin user and demo data on first run."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-demo", action="store_true", help="Do not load demo data.")

    def handle(self, *args: object, **options: object) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        if not User.objects.filter(username="admin").exists():
            password = os.environ.get("RAPPORT_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
            User.objects.create_superuser(username="admin", password=password, role=User.Role.ADMIN)
            self.stdout.write("Created the admin user.")
            if "RAPPORT_ADMIN_PASSWORD" not in os.environ:
                self.stdout.write(
                    f"  username: admin\n  password: {password}  (shown only this once)"
                )
        if not options["no_demo"] and not Contact.objects.exists():
            self.stdout.write("Loading demo data (500 people, 80 organizations)…")
            call_command("demo", contacts=500, organizations=80, realistic=True)
