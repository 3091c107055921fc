"""Workbooks are read in bounded memory: bombs are refused before they unpack, and the
shared strings of a large workbook are not held in memory.

Each measurement runs in a fresh Python process, so the peak resident size it reports
(``ru_maxrss``) is the reading's own and not left over from other tests.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import openpyxl
import pytest

from rapport.ingest.parsers import UnreadableFile, detect, xlsx_parser

MB = 1024 * 1024


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_PARTS = {
    "[Content_Types].xml": (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_CT}.worksheet+xml"/>'
        f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_CT}.sharedStrings+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>"
    ),
    "xl/workbook.xml": (
        f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>'
        '<sheet name="Contacts" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
        "</Relationships>"
    ),
}


def workbook_with(path: Path, *, strings: bytes, sheet: bytes) -> Path:
    """A minimal real workbook: one worksheet whose cells are shared strings."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in _PARTS.items():
            archive.writestr(name, text)
        archive.writestr("xl/sharedStrings.xml", strings)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    return path


def shared_strings(texts: list[str]) -> bytes:
    body = "".join(f"<si><t>{t}</t></si>" for t in texts)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        f'count="{len(texts)}" uniqueCount="{len(texts)}">{body}</sst>'
    ).encode()


def sheet_of(rows: int) -> bytes:
    cells = "".join(
        f'<row r="{i + 1}"><c r="A{i + 1}" t="s"><v>{i}</v></c></row>' for i in range(rows)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"<sheetData>{cells}</sheetData></worksheet>"
    ).encode()


def read_in_a_fresh_process(path: Path) -> dict:
    """Parse ``path`` in a new process; its rows, or its refusal, and the memory it took."""
    script = textwrap.dedent(
        f"""
        import json, os, resource
        from pathlib import Path
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
        import django
        django.setup()
        from rapport.ingest.parsers import UnreadableFile, detect
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        result = {{}}
        try:
            table = detect(Path({str(path)!r}), "book.xlsx")
            result["rows"] = sum(1 for _ in table.rows)
            result["last"] = table.headers
        except UnreadableFile as exc:
            result["refused"] = str(exc)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        result["grew_kb"] = after - before
        print(json.dumps(result))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_shared_strings_that_unpack_far_beyond_their_size_are_refused_in_little_memory(
    tmp_path,
):
    # The shape of the reported bomb: a shared-strings part some 170 times its size
    # (5.8 MB on disk, 1 GB unpacked), here 16 MB unpacked so it is quick to make.
    text = "".join(hashlib.sha256(str(i).encode()).hexdigest()[:2] for i in range(20))
    strings = shared_strings([text * 2_000] * 200)
    path = workbook_with(tmp_path / "bomb.xlsx", strings=strings, sheet=sheet_of(1))
    assert path.stat().st_size < len(strings) / 100
    result = read_in_a_fresh_process(path)
    assert "xl/sharedStrings.xml" in result["refused"]
    assert "times its compressed size" in result["refused"]
    assert "possible zip bomb" in result["refused"]
    assert result["grew_kb"] < 20 * 1024, f"refusing took {result['grew_kb']} KB"


def test_a_part_read_whole_is_capped_by_what_a_workbook_needs(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx_parser, "MAX_PART", 1024)
    book = openpyxl.Workbook()
    book.active.append(["Name"])
    path = tmp_path / "styled.xlsx"
    book.save(path)
    with pytest.raises(UnreadableFile) as refused:
        detect(path, "styled.xlsx")
    message = str(refused.value)
    assert message.startswith("A part of the workbook (xl/") and "unpacks to" in message
    assert "at most 1.0 KB is allowed for it" in message


def test_a_cell_too_long_in_the_shared_strings_is_refused_while_streaming(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx_parser, "MAX_CELL_CHARS", 1000)
    path = workbook_with(
        tmp_path / "long.xlsx", strings=shared_strings(["Name", "x" * 1001]), sheet=sheet_of(2)
    )
    with pytest.raises(UnreadableFile) as refused:
        detect(path, "long.xlsx")
    assert "more than 1,000 characters" in str(refused.value)


@pytest.mark.slow
def test_the_shared_strings_of_a_large_workbook_are_not_held_in_memory(tmp_path):
    rows = 60_000
    texts = [hashlib.sha256(str(i).encode()).hexdigest() * 8 for i in range(rows)]  # 512 chars
    texts[0] = "Name"
    strings = shared_strings(texts)
    assert len(strings) > 30 * MB
    path = workbook_with(tmp_path / "large.xlsx", strings=strings, sheet=sheet_of(rows))
    result = read_in_a_fresh_process(path)
    assert result.get("refused") is None
    assert result["rows"] == rows - 1
    # Held as Python strings they would take more than 30 MB; here only their offsets.
    assert result["grew_kb"] < 15 * 1024, f"reading took {result['grew_kb']} KB"
