"""Reading the server's files back as a person would see them (tests only)."""

from __future__ import annotations

import subprocess


def pdf_pages(pdf: bytes) -> list[str]:
    """Each page's text, by pdftotext (poppler-utils, installed by ``make test``).

    pdftotext lays out CJK without the spaces the PDF draws between characters
    (``第 1 页`` reads ``第1页``): compare Chinese with ``squeezed``.
    """
    assert pdf.startswith(b"%PDF-"), pdf[:40]
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode("utf-8")
    return text.split("\f")[:-1]


def squeezed(text: str) -> str:
    """The text without any whitespace, to find words whatever the layout."""
    return "".join(text.split())
