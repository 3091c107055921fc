"""`rapport users …`: list users, add one with a role, change a role, switch off, reset a password."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import CommandError, CommandParser

from rapport.access import services
from rapport.access.commands import RecordCommand
from rapport.access.models import User


class Command(RecordCommand):
    help = "Manage who can sign in and with which role (admin, member, readonly)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        common = [self.common()]
        sub.add_parser("list", parents=common, help="List users and their roles.")
        add = sub.add_parser("add", parents=common, help="Add a user; prints the password once.")
        add.add_argument("username")
        add.add_argument("--role", default=User.Role.MEMBER, help="admin, member or readonly.")
        add.add_argument("--email", default="")
        add.add_argument("--first-name", default="")
        add.add_argument("--last-name", default="")
        add.add_argument(
            "--password-stdin", action="store_true", help="Read the password from stdin."
        )
        role = sub.add_parser("set-role", parents=common, help="Change a user's role.")
        role.add_argument("username")
        role.add_argument("role")
        for name in ("activate", "deactivate"):
            switch = sub.add_parser(name, parents=common, help=f"{name.title()} a user.")
            switch.add_argument("username")
        password = sub.add_parser(
            "set-password", parents=common, help="Set a password read from stdin."
        )
        password.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self.actor(options)
        action = options["action"]
        if action == "list":
            for user in User.objects.order_by("username"):
                state = "" if user.is_active else "\t(inactive)"
                role = "admin" if user.is_superuser else user.role
                self.stdout.write(f"{user.username}\t{role}\t{user.email}{state}")
            return
        if action == "add":
            password = sys.stdin.readline().rstrip("\n") if options["password_stdin"] else None
            user, secret = self.call(
                services.user_create,
                actor=actor,
                username=options["username"],
                role=options["role"],
                email=options["email"],
                first_name=options["first_name"],
                last_name=options["last_name"],
                password=password,
            )
            self.stderr.write(f"Added {user.username} ({user.get_role_display()}).")
            if password is None:
                self.stdout.write(secret)
            return
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"There is no user named {options['username']}.")
        if action == "set-role":
            self.call(services.user_update, actor=actor, user=user, role=options["role"])
        elif action in ("activate", "deactivate"):
            self.call(services.user_update, actor=actor, user=user, is_active=action == "activate")
        elif action == "set-password":
            password = sys.stdin.readline().rstrip("\n")
            self.call(services.user_set_password, actor=actor, user=user, password=password)
        self.stderr.write(f"Done: {action} {user.username}.")
