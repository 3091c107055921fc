"""The ``rapport`` command: Django's management commands plus Rapport's own."""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["rapport", *sys.argv[1:]])


if __name__ == "__main__":
    main()
