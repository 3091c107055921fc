"""`rapport token create USERNAME` prints a new personal API token (and nothing else)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rapport.access.models import ApiToken, User
from rapport.access.services import token_create, token_revoke


class Command(BaseCommand):
    help = "Create, list or revoke personal API tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a token and print it on standard output.")
        create.add_argument("username")
        create.add_argument("--name", default="cli")
        listing = sub.add_parser("list", help="List a user's tokens (prefixes only).")
        listing.add_argument("username")
        revoke = sub.add_parser("revoke", help="Revoke a token by its prefix.")
        revoke.add_argument("prefix")

    def handle(self, *args: object, **options: object) -> None:
        action = options["action"]
        if action == "revoke":
            token = ApiToken.objects.filter(
                prefix=str(options["prefix"]), revoked_at__isnull=True
            ).first()
            if token is None:
                raise CommandError(f"No active token starts with {options['prefix']}.")
            token_revoke(token=token)
            self.stderr.write(f"Revoked {token.prefix}…")
            return
        user = User.objects.filter(username=str(options["username"])).first()
        if user is None:
            raise CommandError(f"There is no user named {options['username']}.")
        if action == "list":
            for token in user.tokens.all():
                state = "revoked" if token.revoked_at else "active"
                self.stdout.write(
                    f"{token.prefix}…\t{token.name}\t{token.created_at:%Y-%m-%d}\t{state}"
                )
            return
        if not user.is_active:
            raise CommandError(f"User {user.username} is inactive.")
        _, key = token_create(user=user, name=str(options["name"]))
        self.stdout.write(key)
