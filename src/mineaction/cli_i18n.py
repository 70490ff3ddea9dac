# SPDX-License-Identifier: GPL-3.0-or-later
"""The command line's language (issue 22): what `mineaction` prints for a person (errors,
summaries, warnings, progress) goes through `_()` / `ngettext()` and the `cli` gettext
domain (reports/locales/LANG/LC_MESSAGES/cli.po), beside the web pages' and the reports'.

The language is MINEACTION_LANG if set, else the POSIX locale (LC_ALL, then LC_MESSAGES,
then LANG: "es_CO.UTF-8" gives es), matched with Babel against the six languages, else
English. Start-up stays fast (issue 16): English needs neither Babel nor a catalogue, and
another language's catalogue is compiled from its .po only when the first message is
printed (reports/catalogue_files.py, cached). Command names, options, field names, paths, data
(JSON/CSV) and the commands' help texts are not translated (docs/languages.md).
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from mineaction.reports.catalogue_files import SOURCE_LANGUAGE, catalogue_languages, compiled

DOMAIN = "cli"
# The POSIX order: LC_ALL overrides LC_MESSAGES, which overrides LANG.
LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")


def language() -> str:
    """The language messages are printed in, read from the environment each time (cheap:
    the Babel negotiation is cached per setting)."""
    wanted = os.environ.get("MINEACTION_LANG", "").strip()
    if not wanted:
        wanted = next((os.environ[v].strip() for v in LOCALE_VARIABLES
                       if os.environ.get(v, "").strip()), "")
    return _negotiate(wanted)


@cache
def _negotiate(wanted: str) -> str:
    # "es_CO.UTF-8@euro" -> "es_CO"; "C" and "POSIX" are the untranslated locale.
    tag = wanted.split(".")[0].split("@")[0].replace("-", "_")
    if not tag or tag in ("C", "POSIX") or tag.split("_")[0].lower() == SOURCE_LANGUAGE:
        return SOURCE_LANGUAGE  # the common case needs no Babel at all
    from babel.core import negotiate_locale

    # The languages the command line speaks: those with a cli catalogue on disk.
    return negotiate_locale([tag], [SOURCE_LANGUAGE, *catalogue_languages(DOMAIN)]) \
        or SOURCE_LANGUAGE


@cache
def _catalogue(lang: str) -> Any:
    """`lang`'s cli catalogue, compiled in memory once (reports/catalogue_files.py, without
    Babel's locale data); a language without a cli.po is not negotiated (above)."""
    import gettext

    buffer = compiled(lang, DOMAIN)
    return gettext.NullTranslations() if buffer is None else gettext.GNUTranslations(buffer)


def _(message: str) -> str:
    """`message` in the command line's language."""
    lang = language()
    return message if lang == SOURCE_LANGUAGE else str(_catalogue(lang).gettext(message))


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural of a message about `n` things, by the language's rules."""
    lang = language()
    if lang == SOURCE_LANGUAGE:
        return singular if n == 1 else plural
    return str(_catalogue(lang).ngettext(singular, plural, n))


def num(n: int) -> str:
    """A count as the language writes it: 1,224 in English (as the command line always
    printed it), 1224 / 12.240 in Spanish, 12 240 in Russian (CLDR through Babel)."""
    lang = language()
    if lang == SOURCE_LANGUAGE:
        return f"{n:,}"
    from babel.numbers import format_decimal

    return str(format_decimal(n, locale=lang))
