"""What the PDF tests read back with pypdf: the text of every page, and every font with whether it is embedded.

shared/STACK.md: a PDF without a Japanese font still extracts the right text while drawing empty boxes, so the
tests check the fonts themselves: every font of every page must be an IPAexGothic subset with its TrueType
program embedded (FontFile2 in its descriptor, or in its descendant's for a composite font).
"""

from __future__ import annotations

import io
import re

from pypdf import PdfReader

IPAEX_SUBSET = re.compile(r"/[A-Z]{6}\+IPAexGothic")


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def pdf_fonts(data: bytes) -> list[tuple[str, bool]]:
    """(BaseFont, embedded as FontFile2) of every font on every page."""
    fonts = []
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            holder = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            descriptor = holder.get("/FontDescriptor")
            fonts.append((str(font["/BaseFont"]), descriptor is not None and "/FontFile2" in descriptor.get_object()))
    return fonts


def assert_only_embedded_ipaexgothic(data: bytes) -> None:
    fonts = pdf_fonts(data)
    assert fonts, "the PDF has no font at all"
    assert all(IPAEX_SUBSET.fullmatch(name) and embedded for name, embedded in fonts), fonts
