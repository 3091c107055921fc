"""What the record commands share: who acts, how errors are shown, how input is read."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from typing import IO, Any, TypeVar

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Model

from rapport.access.models import User
from rapport.core.errors import Conflict, InvalidInput, NotPermitted

T = TypeVar("T")
M = TypeVar("M", bound=Model)


def read_json_input(source: str | None, stdin: IO[str]) -> dict[str, Any]:
    """The JSON object in a file (or stdin for ``-``); CommandError says what is wrong."""
    if not source:
        return {}
    try:
        text = stdin.read() if source == "-" else open(source, encoding="utf-8").read()  # noqa: PTH123, SIM115
        data = json.loads(text)
    except OSError as exc:
        raise CommandError(f"Cannot read {source}: {exc.strerror}.") from None
    except json.JSONDecodeError as exc:
        raise CommandError(
            f"{source}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})."
        ) from None
    if not isinstance(data, dict):
        raise CommandError(f"{source}: expected a JSON object of fields.")
    return data


class RecordCommand(BaseCommand):
    # System checks import every URL, view and API schema of the project (about half a
    # second) before a command that reads or writes a few records; `rapport check` and
    # `rapport serve` run them.
    requires_system_checks: list[str] = []

    @staticmethod
    def common() -> argparse.ArgumentParser:
        """Options every subcommand takes, wherever they are placed on the line."""
        parser = argparse.ArgumentParser(add_help=False)
        RecordCommand.add_actor_argument(parser)
        parser.add_argument("--json", action="store_true", help="Print JSON.")
        return parser

    @staticmethod
    def add_actor_argument(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--as",
            dest="as_user",
            default=os.environ.get("RAPPORT_USER", "admin"),
            help="Act as this user (default: $RAPPORT_USER, else admin).",
        )

    def actor(self, options: dict[str, Any]) -> User:
        user = User.objects.filter(username=options["as_user"], is_active=True).first()
        if user is None:
            raise CommandError(
                f"There is no active user named {options['as_user']}; use --as USERNAME."
            )
        return user

    # What a refused call did not do, first line of its message.
    refused = "Nothing was saved"

    def call(self, func: Callable[..., T], **kwargs: Any) -> T:
        """Run a service or selector, turning its errors into messages and exit status 1."""
        try:
            return func(**kwargs)
        except InvalidInput as exc:
            raise CommandError(
                f"{self.refused}:\n" + "\n".join(f"  {e}" for e in exc.errors)
            ) from None
        except (NotPermitted, Conflict) as exc:
            raise CommandError(str(exc)) from None

    def fetch(self, model: type[M], pk: int) -> M:
        obj = model._default_manager.filter(pk=pk).first() if 0 < pk < 2**63 else None
        if obj is None:
            raise CommandError(f"There is no {model._meta.verbose_name} with id {pk}.")
        return obj
