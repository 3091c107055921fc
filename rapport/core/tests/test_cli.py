"""The `rapport` command starts quickly and writes logs a person can read."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.core.management import ManagementUtility, call_command

from rapport.cli import command_list_text

# What a command that only reads must not load at start: the API's schemas (pydantic,
# django-ninja), the write services with the duplicate matching, images, spreadsheets.
HEAVY = (
    "ninja",
    "pydantic",
    "rapport.contacts.api",
    "rapport.contacts.services",
    "rapport.duplicates.matching.comparisons",
    "rapidfuzz",
    "PIL",
    "openpyxl",
    "faker",
    "tqdm",
    "nameparser",
)


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nprint(' '.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
        env={"DJANGO_SETTINGS_MODULE": "rapport.settings", "PATH": "/usr/bin:/bin"},
    )
    return set(out.stdout.split())


def test_the_command_list_is_the_one_django_gives():
    assert command_list_text() == ManagementUtility(["rapport"]).main_help_text()


def test_rapport_help_lists_the_commands_without_loading_any_app():
    loaded = _modules_after(
        "import sys\nsys.argv = ['rapport', '--help']\nfrom rapport.cli import main\nmain()"
    )
    assert "rapport.contacts.models" not in loaded
    assert not {m for m in loaded if m.split(".")[0] in ("ninja", "pydantic")}


def test_reading_commands_start_without_the_heavy_libraries():
    loaded = _modules_after(
        "import sys, django\ndjango.setup()\n"
        "from django.core.management import load_command_class\n"
        "load_command_class('rapport.contacts', 'contacts')\n"
        "load_command_class('rapport.contacts', 'organizations')"
    )
    assert "rapport.contacts.management.commands.organizations" in loaded
    assert not [m for m in HEAVY if m in loaded]


@pytest.mark.django_db
def test_progress_written_to_a_log_is_plain_lines(alice, capsys):
    call_command("demo", contacts=30, organizations=5, seed=3)

    err = capsys.readouterr().err
    assert "\r" not in err and "\x1b" not in err
    assert "Match keys: 30/30 contacts" in err.splitlines()


def test_sqlite_connections_are_kept_between_requests(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from django.conf import settings; print(settings.DATABASES['default']['CONN_MAX_AGE'])",
        ],
        capture_output=True,
        text=True,
        check=True,
        env={
            "DJANGO_SETTINGS_MODULE": "rapport.settings",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'r.sqlite3'}",
            "RAPPORT_DATA_DIR": str(tmp_path),
            "PATH": "/usr/bin:/bin",
        },
    )
    # A new connection per request started every search with an empty page cache.
    assert int(out.stdout) > 0


def test_a_reader_that_goes_away_ends_the_command_quietly():
    """`rapport … | head`: the closed pipe ends the command without a traceback."""
    from pathlib import Path

    command = [str(Path(sys.executable).parent / "rapport"), "help", "export"]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={"DJANGO_SETTINGS_MODULE": "rapport.settings", "PATH": "/usr/bin:/bin"},
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader is gone before the first line
    errors = process.stderr.read().decode()
    assert process.wait(timeout=60) == 141
    assert "Traceback" not in errors and "BrokenPipe" not in errors
