# SPDX-License-Identifier: GPL-3.0-or-later
"""The gettext catalogues on disk, locales/LANG/LC_MESSAGES/DOMAIN.po, and their
compiling in memory: one place for the reports' and web pages' (reports/i18n.py) and the
command line's (cli_i18n.py) catalogues, so no build step and no compiled files are
needed. Light on purpose: Babel's .po reader and .mo writer load only when a catalogue is
compiled, so the command line's start-up stays fast (issue 16)."""

from __future__ import annotations

import io
from pathlib import Path

LOCALES_DIR = Path(__file__).parent / "locales"
SOURCE_LANGUAGE = "en"


def catalogue_languages(domain: str) -> list[str]:
    """The languages with a catalogue of `domain`, by code (the source language has none)."""
    return sorted(p.parent.parent.name for p in LOCALES_DIR.glob(f"*/LC_MESSAGES/{domain}.po"))


def compiled(lang: str, domain: str) -> io.BytesIO | None:
    """`lang`'s catalogue of `domain` compiled to a .mo in memory, None when there is none.
    The plural rule is the .po header's Plural-Forms."""
    po = LOCALES_DIR / lang / "LC_MESSAGES" / f"{domain}.po"
    if not po.is_file():
        return None
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as f:
        catalog = read_po(f)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return buffer
