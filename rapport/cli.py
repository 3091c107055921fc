"""The ``rapport`` command: Django's management commands plus Rapport's own."""

from __future__ import annotations

import os
import sys
from importlib.util import find_spec
from pathlib import Path

# The lines Django answers with the list of commands (``rapport``, ``rapport --help``).
_LIST_COMMANDS = ([], ["help"], ["--help"], ["-h"])


def command_list_text() -> str:
    """Django's own list of commands, grouped by app, built without loading the apps.

    Django would set up every app (models, ready hooks and the libraries they import)
    only to list file names: finding the ``management/commands`` folders from the
    settings is enough, and keeps ``rapport --help`` instant. As in Django, an app
    listed earlier in INSTALLED_APPS wins a name (staticfiles' ``runserver``).
    """
    from django.conf import settings
    from django.core.management import find_commands
    from django.core.management.color import color_style

    def commands_of(package: str) -> list[str]:
        spec = find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            return []
        return find_commands(str(Path(next(iter(spec.submodule_search_locations))) / "management"))

    owner = dict.fromkeys(commands_of("django.core"), "django")
    for app in reversed(settings.INSTALLED_APPS):
        owner.update(dict.fromkeys(commands_of(app), app.rpartition(".")[-1]))
    by_app: dict[str, list[str]] = {}
    for name, app in owner.items():
        by_app.setdefault(app, []).append(name)
    style = color_style()
    lines = [
        "",
        "Type 'rapport help <subcommand>' for help on a specific subcommand.",
        "",
        "Available subcommands:",
    ]
    for app in sorted(by_app):
        lines += ["", style.NOTICE(f"[{app}]"), *(f"    {n}" for n in sorted(by_app[app]))]
    return "\n".join(lines)


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    if sys.argv[1:] in _LIST_COMMANDS:
        try:
            text = command_list_text()
        except Exception:  # broken settings: Django's own help explains them
            text = ""
        if text:
            sys.stdout.write(text + "\n")
            return
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(["rapport", *sys.argv[1:]])
        sys.stdout.flush()  # here, where a closed pipe can still be handled
    except BrokenPipeError:
        # The reader went away (`rapport export | head`): stop quietly, as other
        # command-line tools do, without a traceback or a second error at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)  # 128 + SIGPIPE, what a shell reports for such a command


if __name__ == "__main__":
    main()
