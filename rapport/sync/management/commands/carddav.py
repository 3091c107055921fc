"""`rapport carddav password create USERNAME` prints a new app password for an
address-book client (and nothing else); `list` and `revoke` manage them. `devices
USERNAME` shows what each device synced and when; `conflicts USERNAME` lists the changes
that clashed, and `--keep ID` / `--take ID` decide one, as that user."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rapport.access.models import AppPassword, User
from rapport.access.services import app_password_create, app_password_revoke
from rapport.core.errors import InvalidInput, NotPermitted
from rapport.sync import selectors
from rapport.sync.services import writes


class Command(BaseCommand):
    help = "App passwords for address-book clients (CardDAV)."

    def add_arguments(self, parser: CommandParser) -> None:
        what = parser.add_subparsers(dest="what", required=True)
        passwords = what.add_parser("password", help="Create, list or revoke app passwords.")
        sub = passwords.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create one and print it on standard output.")
        create.add_argument("username")
        create.add_argument("--name", default="", help="Which device it is for.")
        listing = sub.add_parser("list", help="A user's app passwords (prefixes only).")
        listing.add_argument("username")
        revoke = sub.add_parser("revoke", help="Revoke one by its prefix.")
        revoke.add_argument("username")
        revoke.add_argument("prefix")
        devices = what.add_parser("devices", help="What each device synced, and when.")
        devices.add_argument("username")
        conflicts = what.add_parser("conflicts", help="Changes that clashed; decide one.")
        conflicts.add_argument("username")
        decide = conflicts.add_mutually_exclusive_group()
        decide.add_argument("--keep", type=int, metavar="ID", help="Keep Rapport's value.")
        decide.add_argument("--take", type=int, metavar="ID", help="Take the device's value.")

    def _user(self, username: str) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"There is no user named {username}.")
        return user

    def handle(self, *args: object, **options: object) -> None:
        user = self._user(str(options["username"]))
        if options["what"] == "devices":
            self._devices(user)
            return
        if options["what"] == "conflicts":
            self._conflicts(user, options)
            return
        action = options["action"]
        if action == "list":
            for item in user.app_passwords.all():
                state = f"revoked {item.revoked_at:%Y-%m-%d}" if item.revoked_at else "active"
                used = f"{item.last_used_at:%Y-%m-%d %H:%M}" if item.last_used_at else "never"
                self.stdout.write(
                    f"{item.prefix}…\t{item.name or '-'}\t{item.created_at:%Y-%m-%d}\t"
                    f"last used {used}\t{state}"
                )
            return
        if action == "revoke":
            found = AppPassword.objects.filter(
                user=user, prefix=str(options["prefix"]).lower()[:4], revoked_at__isnull=True
            )
            if found.count() != 1:
                raise CommandError(
                    f"{found.count() or 'No'} active app passwords of {user.username} start "
                    f"with {options['prefix']}; give the prefix `list` shows."
                )
            item = found.get()
            app_password_revoke(app_password=item)
            self.stderr.write(f"Revoked {item.prefix}…")
            return
        if not user.is_active:
            raise CommandError(f"User {user.username} is inactive.")
        try:
            _, secret = app_password_create(user=user, name=str(options["name"]))
        except InvalidInput as exc:
            raise CommandError("; ".join(f"{e.path}: {e.message}" for e in exc.errors)) from exc
        self.stdout.write(secret)

    def _devices(self, user: User) -> None:
        for row in selectors.user_devices(user):
            item = row.app_password
            used = f"{item.last_used_at:%Y-%m-%d %H:%M}" if item.last_used_at else "never"
            synced = "; ".join(
                f"{d.book.name}: {'up to date' if not d.behind else f'{d.behind} behind'}"
                f" at {d.synced_at:%Y-%m-%d %H:%M}"
                for d in row.books
            )
            self.stdout.write(
                f"{item.prefix}…\t{item.name or '-'}\tlast seen {used}\t{synced or 'no sync yet'}"
            )

    def _conflicts(self, user: User, options: dict[str, object]) -> None:
        chosen = int(str(options.get("keep") or options.get("take") or 0))
        if chosen:
            conflict = selectors.open_conflicts(user).filter(pk=chosen).first()
            if conflict is None:
                raise CommandError(f"{user.username} has no open conflict {chosen}.")
            try:
                writes.conflict_resolve(
                    actor=user, conflict=conflict, take=bool(options.get("take"))
                )
            except (InvalidInput, NotPermitted) as exc:
                raise CommandError(f"Nothing was changed: {exc}") from None
            self.stderr.write(f"Decided conflict {chosen}.")
            return
        for c in selectors.open_conflicts(user):
            self.stdout.write(
                f"{c.pk}\t{c.contact_name} (#{c.contact_id})\t{c.field_label}\t"
                f"Rapport: {c.server_value or '(empty)'}\tdevice: {c.client_value or '(empty)'}"
                f"\t{c.device or '-'}\t{c.created_at:%Y-%m-%d %H:%M}"
            )
