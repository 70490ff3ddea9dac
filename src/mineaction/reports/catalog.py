"""Refresh the message catalogues: extract every translatable message from the report
templates (Jinja2's Babel extractor) and Python modules (gettext markers `_`, `t`, `N_`,
`gettext`) into locales/messages.pot, and merge it into each language's messages.po.

    python -m mineaction.reports.catalog          # then translate the new msgids
    python -m mineaction.reports.catalog --check  # exit 1 if a catalogue is stale/incomplete

The .po files are the only artefacts kept: reports compile them in memory (i18n.py).
A new language: copy messages.pot to locales/LANG/LC_MESSAGES/messages.po and translate it.

A second domain, "web" (issue 22), holds the web pages' texts: their templates, the
labels marked in web/*.py and the `t("...")` strings of web/static/js/*.js, in
locales/web.pot and locales/LANG/LC_MESSAGES/web.po. The same commands refresh and check
both domains; `--domain web` limits them to one.

A third, "cli" (issue 22), holds what the command line prints: the `_("...")` and
`ngettext(...)` messages of cli*.py (mineaction/cli_i18n.py), in locales/cli.pot and
locales/LANG/LC_MESSAGES/cli.po.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir, extract_from_file
from babel.messages.pofile import read_po, write_po

HERE = Path(__file__).parent
POT = HERE / "locales" / "messages.pot"
WEB = HERE.parent / "web"
WEB_POT = HERE / "locales" / "web.pot"
PACKAGE = HERE.parent
CLI_POT = HERE / "locales" / "cli.pot"
WEB_METHODS = [
    ("templates/**.html", "jinja2.ext:babel_extract"),
    ("*.py", "python"),
    ("static/js/*.js", "javascript"),
]
METHODS = [
    ("templates/**.html", "jinja2.ext:babel_extract"),
    ("*.py", "python"),
]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
KEYWORDS = {"_": None, "gettext": None, "t": None, "N_": None}
# Texts marked outside reports/: the field forms' questions (io/ may not import reports/,
# so io/xlsform.py marks them with its own N_ and the forms read them back through
# reports/form_labels.py; issue 21).
MARKED_ELSEWHERE = [HERE.parent / "io" / "xlsform.py"]


def extract() -> Catalog:
    catalog = Catalog(project="mineaction", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(HERE), METHODS, options_map=OPTIONS, keywords=KEYWORDS, comment_tags=("TRANSLATORS:",),
    ):
        if isinstance(message, tuple):  # plural forms: not used by our templates
            message = message[0]
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    for path in MARKED_ELSEWHERE:
        for lineno, message, comments, context in extract_from_file(
            "python", path, keywords=KEYWORDS, comment_tags=("TRANSLATORS:",),
        ):
            catalog.add(message, None, [(f"../{path.parent.name}/{path.name}", lineno)],
                        auto_comments=comments, context=context)
    return catalog


def extract_web() -> Catalog:
    """The web domain: templates (`_()`, `{% trans %}`), `N_`-marked labels in web/*.py and
    `t("...")` in the pages' scripts."""
    catalog = Catalog(project="mineaction-web", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(WEB), WEB_METHODS, options_map=OPTIONS | {"static/js/*.js": {}},
        keywords=KEYWORDS | {"ngettext": (1, 2)}, comment_tags=("TRANSLATORS:",),
    ):
        # a {% trans count=n %}...{% pluralize %} block is (singular, plural, ...): kept
        # whole, its translation has each of the language's plural forms
        if isinstance(message, tuple):
            message = tuple(m for m in message if m is not None)[:2]
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def extract_cli() -> Catalog:
    """The cli domain: `_()` and `ngettext()` in the command modules (cli.py, cli_*.py)."""
    catalog = Catalog(project="mineaction-cli", charset="utf-8")
    for path in sorted(PACKAGE.glob("cli*.py")):
        for lineno, message, comments, context in extract_from_file(
            "python", path, keywords={"_": None, "ngettext": (1, 2)},
            comment_tags=("TRANSLATORS:",),
        ):
            catalog.add(message, None, [(f"../{path.name}", lineno)],
                        auto_comments=comments, context=context)
    return catalog


def template_path(domain: str) -> Path:
    return {"messages": POT, "web": WEB_POT, "cli": CLI_POT}[domain]


def languages(domain: str = "messages") -> list[Path]:
    return sorted((HERE / "locales").glob(f"*/LC_MESSAGES/{domain}.po"))


def missing(po: Path, template: Catalog) -> list[str]:
    """msgids of the template that the catalogue lacks or has untranslated or fuzzy."""
    with po.open("rb") as f:
        catalog = read_po(f)
    out = []
    for message in template:
        if not message.id:
            continue
        found = catalog.get(message.id)
        forms = found.string if found is not None and isinstance(found.string, tuple) else (
            found.string if found is not None else None,)
        if found is None or not all(forms) or found.fuzzy:
            out.append(str(message.id))
    return out


def write(template: Catalog, domain: str = "messages") -> None:
    pot = template_path(domain)
    pot.parent.mkdir(parents=True, exist_ok=True)
    with pot.open("wb") as f:
        write_po(f, template, omit_header=False, sort_output=True, width=100)
    for po in languages(domain):
        with po.open("rb") as f:
            catalog = read_po(f, locale=po.parent.parent.name)
        catalog.update(template, no_fuzzy_matching=True)
        buffer = io.BytesIO()
        write_po(buffer, catalog, sort_output=True, width=100, ignore_obsolete=True)
        po.write_bytes(buffer.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check; write nothing")
    parser.add_argument("--domain", choices=sorted(EXTRACTORS), help="one domain only")
    args = parser.parse_args()
    failed = False
    for domain in [args.domain] if args.domain else sorted(EXTRACTORS):
        template = EXTRACTORS[domain]()
        if args.check:
            bad = {po: missing(po, template) for po in languages(domain)}
            for po, ids in bad.items():
                for msgid in ids:
                    print(f"{po}: untranslated: {msgid!r}")
            failed = failed or any(bad.values())
            continue
        write(template, domain)
        print(f"{len(template)} {domain} messages -> {template_path(domain)}")
    sys.exit(1 if failed else 0)


EXTRACTORS = {"messages": extract, "web": extract_web, "cli": extract_cli}


if __name__ == "__main__":
    main()
