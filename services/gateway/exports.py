"""Lists as files: the one way a route answers ``?format=csv|xlsx|pdf``.

A route offering files says so in its contract and, when a file is asked for,
hands its rows (or printed sheets) here::

    from services.gateway import exports
    from services.gateway.formats import produces
    from shared.paper.tables import DATE, INTEGER, Column, Table

    SHELF = Table("stocktake_missing", (Column("barcode"), Column("title"),
                                         Column("seen_on", DATE)))

    @route("GET", "/api/stocktakes/<id>/missing", ..., produces=produces("csv", "xlsx", "pdf"))
    def missing(self, request):
        answer = self.catalog.stocktake_missing(request.path["id"])
        if not exports.wanted(request):
            return answer  # JSON, as before
        rows = ([m["barcode"], m["title"], m["seen_on"]] for m in answer["missing"])
        return exports.answer(request, SHELF, rows, qualifier=request.path["id"],
                              sheets=lambda words: [Sheet(...)])  # sheets: for pdf

The route's ``format`` and ``lang`` never reach its query schema (``formats``); an
unsupported ``format`` is already a 400 ``format_unsupported`` before the handler
runs. The table's headers are worded from ``exports.columns.<code>`` and its file
named from ``exports.lists.<name>`` (shared/paper/locales/<lang>/exports.json: add
your columns and list there, both languages); a PDF's words are the route's own
(``print.json``). ``rows`` may be a generator paging through a service: CSV is
streamed as it is made, XLSX written page by page to a temporary file which is
then streamed, so a large list is never whole in memory.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import IO, Any
from urllib.parse import quote

from services.gateway.formats import CSV, JSON, PDF, XLSX
from services.gateway.routing import ApiRequest, Reply
from shared.paper import pdf
from shared.paper.classes import CLASS_CODE, written_class
from shared.paper.tables import Table, csv_chunks, write_xlsx
from shared.paper.words import Words

CSV_TEXT = "text/csv; charset=utf-8"
CHUNK = 64 * 1024
PAGE = 1000  # rows a page when paging through a service (a register: its largest page)
EXTENSIONS = {CSV: "csv", XLSX: "xlsx", PDF: "pdf"}
Sheets = Callable[[Words], Sequence[pdf.Sheet]]


def wanted(request: ApiRequest) -> str | None:
    """The file asked for (``csv``, ``xlsx``, ``pdf``), or None for JSON."""
    if request.media_type == JSON:
        return None
    return EXTENSIONS.get(request.media_type)


def words_of(request: ApiRequest) -> Words:
    return Words(request.language)


def disposition(title: str, ascii_name: str, extension: str) -> str:
    """``attachment`` with an ASCII file name and the worded (Chinese) one, RFC 6266/5987."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_"
                       for c in ascii_name)  # fmt: skip
    worded = quote(f"{title}.{extension}", safe="")
    return f"attachment; filename=\"{fallback}.{extension}\"; filename*=UTF-8''{worded}"


def file_names(table_name: str, title: str, qualifier: str | None, words: Words) -> tuple[str, str]:
    """(worded name, ASCII name): 购书情况登记表-南校区, purchases-south; a campus or a
    class in the worded one as people write it (逾期图书名单-初一(3)班), else as given."""
    if not qualifier:
        return title, table_name
    worded = qualifier
    if words.has(f"common.campus.{qualifier}"):
        worded = words(f"common.campus.{qualifier}")
    elif CLASS_CODE.fullmatch(qualifier):
        worded = written_class(qualifier, words)
    return f"{title}-{worded}", f"{table_name}-{qualifier}"


def answer(
    request: ApiRequest,
    table: Table,
    rows: Iterable[Sequence[Any]],
    *,
    qualifier: str | None = None,
    sheets: Sheets | None = None,
) -> Reply:
    """The list as the file the request asked for (``wanted``), with its file name."""
    words = words_of(request)
    media = request.media_type
    title, ascii_name = file_names(table.name, table.title(words), qualifier, words)
    extension = EXTENSIONS[media]
    headers = {"Content-Disposition": disposition(title, ascii_name, extension)}
    if media == CSV:
        return Reply(csv_chunks(table, rows, words), content_type=CSV_TEXT, headers=headers)
    if media == XLSX:
        stream, size = _xlsx_file(table, rows, words)
        headers["Content-Length"] = str(size)
        return Reply(stream, content_type=XLSX, headers=headers)
    if sheets is None:  # formats.negotiate refuses pdf for a route not producing it
        raise ValueError(f"{table.name} has no printed form")
    printed = pdf.render(sheets(words), words, title, printed_at(request))
    return Reply(printed, content_type=PDF, headers=headers)


def printed_at(request: ApiRequest) -> str:
    """When the page was printed, as the footer says it (the gateway's local time)."""
    return datetime.now().astimezone().strftime("%Y-%m-%d %H:%M")


def _xlsx_file(
    table: Table, rows: Iterable[Sequence[Any]], words: Words
) -> tuple[Iterator[bytes], int]:
    """The workbook written to a temporary file (rows consumed now, page by page), and an
    iterator streaming it out that closes (and so deletes) the file at its end."""
    file = tempfile.TemporaryFile(prefix="export-", suffix=".xlsx")
    try:
        write_xlsx(table, rows, words, file)
        size = file.seek(0, 2)
        file.seek(0)
    except BaseException:
        file.close()
        raise
    return _chunks(file), size


def _chunks(file: IO[bytes]) -> Iterator[bytes]:
    try:
        while chunk := file.read(CHUNK):
            yield chunk
    finally:
        file.close()


def pages(
    fetch: Callable[[int, int], dict[str, Any]],
    first: dict[str, Any] | None = None,
    key: str = "rows",
    limit: int = PAGE,
) -> Iterator[Sequence[Any]]:
    """Every row of a paged list: ``fetch(limit, offset)`` answers ``{key: [...], "total": n,
    "limit": l}`` (a register's pages), asked page after page as the rows are consumed;
    ``first``, when the caller has it already, is the page at offset 0."""
    page, offset = first or fetch(limit, 0), 0
    first = None  # held by the page alone, let go with it
    while True:
        yield from page[key]
        offset += page.get("limit", limit)
        if offset >= page["total"] or not page[key]:
            return
        page = None  # the page read is let go before the next one comes
        page = fetch(limit, offset)
