# SPDX-License-Identifier: GPL-3.0-or-later
"""Labels for the field forms (issue 21, item 6), in every language the reports have.

The form generator (io/xlsform.py) knows codes and English question texts; the words for
people live here, in the report catalogues (labels.py, locales/). A code or text a language
has no translation for is None, and the generator falls back to English and says so.
"""

from __future__ import annotations

from babel import Locale

from mineaction.reports.i18n import SOURCE_LANGUAGE, available_languages, translations
from mineaction.reports.labels import LABELS

# Choice lists of the forms (an enumeration's class name in snake case, io/xlsform.py)
# -> the dimension of reports/labels.py that labels its codes.
DIMENSION_OF_LIST = {
    "outcome": "outcome",
    "role": "role",
    "age_band": "age-band",
    "sex": "sex",
    "device_category": "device",
    "victim_activity": "activity",
    "accident_kind": "accident-kind",
    "area_type": "area-type",
    "release_method": "method",
    "hazard_kind": "hazard_kind",
    "hazard_status": "hazard_status",
    "activity_kind": "activity_kind",
}


def language_name(code: str) -> str:
    """A language's name in itself, capitalised: English, Español."""
    name = Locale.parse(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]


class CatalogueLabels:
    """io.xlsform.Labels from the report catalogues, for `languages` (default: all)."""

    def __init__(self, languages: list[str] | None = None) -> None:
        codes = languages or available_languages()
        if SOURCE_LANGUAGE not in codes:
            codes = [SOURCE_LANGUAGE, *codes]
        self.languages = tuple((c, language_name(c)) for c in codes)

    def _translate(self, lang: str, english: str) -> str | None:
        if lang == SOURCE_LANGUAGE:
            return english
        text = translations(lang).gettext(english)
        return text if text != english else None

    def choice(self, lang: str, list_name: str, code: str) -> str | None:
        english = LABELS.get(DIMENSION_OF_LIST.get(list_name, ""), {}).get(code)
        if english is None:
            return None
        return self._translate(lang, english)

    def text(self, lang: str, english: str) -> str | None:
        return self._translate(lang, english)
