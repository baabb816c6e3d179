"""``library import-cards roster.csv``: a whole school's roster, a chunk at a time.

A roster of thousands of rows is sent to ``circulation.import_cards`` in
chunks (each well under the command's size limit, each with the header), so a
progress bar can move and one command never holds the card streams for long.
Each chunk is a CSV of its own; the service reports a bad row by its line in
that chunk, which ``Chunk.lines`` maps back to the line in the operator's
file. Chunks carry a ``command_id`` derived from the file's contents, so
running the same import again (after a broken connection, say) issues no
card twice: the service answers what it recorded the first time.
"""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shared.cli.errors import CommandFailed, UsageError

ROWS_PER_CHUNK = 500
MAX_CHUNK_BYTES = 1_000_000  # circulation accepts 2,000,000 per command
IMPORT_NAMESPACE = uuid.UUID("6f1f1a57-3d1e-4e0b-9a55-2c1b5d0e7a10")


@dataclass
class Chunk:
    """Part of a roster: its CSV text (header first) and where its lines came from."""

    index: int
    text: str
    rows: int
    lines: dict[int, int] = field(default_factory=dict)  # line in the chunk -> line in the file

    def original_line(self, line: int) -> int:
        return self.lines.get(line, line)


@dataclass
class ImportResult:
    issued: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    rows: int = 0


def split_roster(
    text: str, rows_per_chunk: int = ROWS_PER_CHUNK, max_bytes: int = MAX_CHUNK_BYTES
) -> list[Chunk]:
    """Split a roster's CSV text into chunks of at most ``rows_per_chunk`` rows.

    Rows are copied byte for byte (quoted fields spanning lines stay whole);
    blank lines are dropped, as the service would skip them. Raises
    ``CommandFailed`` for a roster without a header or without any row.
    """
    if rows_per_chunk < 1:
        raise UsageError("a chunk holds at least one row")
    lines = io.StringIO(text.lstrip("\ufeff")).readlines()
    reader = csv.reader(iter(lines))
    records: list[tuple[int, str]] = []  # (last line of the record in the file, raw text)
    consumed = 0
    try:
        for row in reader:
            raw = "".join(lines[consumed : reader.line_num])
            consumed = reader.line_num
            if not raw.endswith("\n"):
                raw += "\n"
            if any(cell.strip() for cell in row):
                records.append((consumed, raw))
    except csv.Error as error:
        raise CommandFailed(
            f"line {reader.line_num}: the roster is not readable CSV: {error}"
        ) from None
    if not records:
        raise CommandFailed("the roster is empty: it needs a header (name,kind,class,campus)")
    (header_line, header), rows = records[0], records[1:]
    if not rows:
        raise CommandFailed("the roster has a header but no rows")
    header_lines = header.count("\n")

    chunks: list[Chunk] = []
    current: Chunk | None = None
    for line, raw in rows:
        too_big = current is not None and len((current.text + raw).encode()) > max_bytes
        if current is None or current.rows >= rows_per_chunk or too_big:
            current = Chunk(len(chunks), header, 0)
            chunks.append(current)
        current.text += raw
        current.rows += 1
        # The service names a row by the line its record ends on, as csv counts lines.
        current.lines[current.text.count("\n")] = line
    for chunk in chunks:
        chunk.lines.setdefault(header_lines, header_line)
    return chunks


def command_id(text: str, chunk: Chunk) -> str:
    """The same roster's same chunk always gets the same id (so a rerun is answered, not redone)."""
    digest = hashlib.sha256(text.encode()).hexdigest()
    return str(uuid.uuid5(IMPORT_NAMESPACE, f"{digest}:{chunk.index}"))


def import_roster(
    text: str,
    send: Callable[[dict[str, Any]], dict[str, Any]],
    progress: Callable[[int], None] | None = None,
    chunks: list[Chunk] | None = None,
) -> ImportResult:
    """Send every chunk (``send`` calls ``circulation.import_cards``); gather what came back
    with line numbers of the original file."""
    result = ImportResult()
    for chunk in split_roster(text) if chunks is None else chunks:
        answer = send({"csv": chunk.text, "command_id": command_id(text, chunk)})
        for card in answer.get("issued", []):
            if "line" in card:
                card = {**card, "line": chunk.original_line(card["line"])}
            result.issued.append(card)
        for error in answer.get("errors", []):
            result.errors.append({**error, "line": chunk.original_line(error["line"])})
        result.rows += chunk.rows
        if progress is not None:
            progress(chunk.rows)
    result.errors.sort(key=lambda error: error["line"])
    return result


def describe(errors: dict[str, Any] | list[Any] | str) -> str:
    """A row's field errors as one line: ``kind: Must be one of ...; campus: ...``."""
    if isinstance(errors, dict):
        return "; ".join(f"{name}: {describe(messages)}" for name, messages in errors.items())
    if isinstance(errors, list):
        return " ".join(describe(message) for message in errors)
    return str(errors)
