# SPDX-License-Identifier: GPL-3.0-or-later
"""Labels for the field forms (issue 21, item 6), in every language the reports have.

The form generator (io/xlsform.py) knows codes and English question texts; the words for
people live here, in the report catalogues (labels.py, locales/). A code or text a language
has no translation for is None, and the generator falls back to English and says so.
"""

from __future__ import annotations

from babel import Locale

from mineaction.reports.i18n import N_, SOURCE_LANGUAGE, available_languages, translations
from mineaction.reports.labels import LABELS

# Choices a form words otherwise than a report's table (one victim is a "Civilian", a
# table counts "Civilians"), and enumerations the reports do not show.
FORM_CHOICES: dict[str, dict[str, str]] = {
    "hazard_kind": {"SHA": N_("Suspected hazardous area (SHA)"),
                    "CHA": N_("Confirmed hazardous area (CHA)")},
    "role": {"civilian": N_("Civilian"), "security_forces": N_("Security forces"),
             "deminer": N_("Deminer"), "unknown": N_("Unknown")},
    "evidence_kind": {"direct": N_("Direct evidence"), "indirect": N_("Indirect evidence")},
    "blockage": {"housing": N_("Housing"), "agriculture": N_("Agriculture"),
                 "grazing": N_("Grazing land"), "water": N_("Water"), "roads": N_("Roads"),
                 "infrastructure": N_("Infrastructure"),
                 "services": N_("Services (schools, health posts)")},
    "activity_status": {"planned": N_("Planned"), "ongoing": N_("Ongoing"),
                        "suspended": N_("Suspended"), "completed": N_("Completed")},
    "date_precision": {"day": N_("Exact day"), "month": N_("Month only"),
                       "year": N_("Year only")},
    "location_precision": {"exact": N_("Exact (GPS)"), "site": N_("At the site"),
                           "settlement": N_("Settlement"),
                           "admin_area": N_("Administrative area only"),
                           "unknown": N_("Unknown")},
}

# Choice lists of the forms (an enumeration's class name in snake case, io/xlsform.py)
# -> the dimension of reports/labels.py that labels its codes.
DIMENSION_OF_LIST = {
    "outcome": "outcome",
    "age_band": "age-band",
    "sex": "sex",
    "device_category": "device",
    "victim_activity": "activity",
    "accident_kind": "accident-kind",
    "area_type": "area-type",
    "release_method": "method",
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
        catalogue = translations(lang)
        # A translation may read as the English does ("Rural"): asked by presence, not by
        # difference. GNUTranslations keeps its messages in _catalog (since Python 2).
        known: dict[str, str] = getattr(catalogue, "_catalog", {})
        return catalogue.gettext(english) if english in known else None

    def choice(self, lang: str, list_name: str, code: str) -> str | None:
        english = FORM_CHOICES.get(list_name, {}).get(code) or LABELS.get(
            DIMENSION_OF_LIST.get(list_name, ""), {}).get(code)
        if english is None:
            return None
        return self._translate(lang, english)

    def text(self, lang: str, english: str) -> str | None:
        return self._translate(lang, english)
