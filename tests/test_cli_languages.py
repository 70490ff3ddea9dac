# SPDX-License-Identifier: GPL-3.0-or-later
"""The command line speaks the six languages (issue 22): every message it prints for a
person goes through the `cli` catalogue, every language's catalogue translates all of it
with the same placeholders, and a real `mineaction` process prints Spanish when
MINEACTION_LANG or the POSIX locale (LANG=es_CO.UTF-8) asks for it."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from mineaction.reports import catalog

PACKAGE = Path(catalog.__file__).resolve().parents[1]
CLI_MODULES = sorted(PACKAGE.glob("cli*.py"))
LANGUAGES = ["es", "az", "ru", "uk", "ar"]  # English is the source

# Calls whose text argument a person reads.
PRINTERS = {"echo", "secho", "fail", "print", "emit", "confirm", "prompt", "BadParameter",
            "UsageError"}
TRANSLATORS = {"_", "ngettext"}
LETTERS = re.compile(r"[^\W\d_]")
OPTION_NAME = re.compile(r"--[\w-]+")
# Output that is data, not language, and stays as it is in every language (one entry per
# module and text, with why):
DATA_OUTPUT: set[tuple[str, str]] = {
    # `mineaction --version`: the program's name and version, read by scripts
    ("cli.py", "f'mineaction {__version__}'"),
}



def _has_letters(text: str) -> bool:
    # A text of only spaces, digits and punctuation ("  {kind:<16} {total:>10,}") is a
    # layout of data, not words: nothing to translate. Nor are option names (--store).
    return bool(LETTERS.search(OPTION_NAME.sub("", text)))


def _bare_text(node: ast.expr) -> str | None:
    """The untranslated words `node` prints, if it is a literal or f-string (or built from
    one) rather than a `_()` / `ngettext()` call or a value (a variable, str(exc))."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value if _has_letters(node.value) else None
    if isinstance(node, ast.JoinedStr):
        literal = "".join(v.value for v in node.values
                          if isinstance(v, ast.Constant) and isinstance(v.value, str))
        return ast.unparse(node) if _has_letters(literal) else None
    if isinstance(node, ast.BinOp):
        return _bare_text(node.left) or _bare_text(node.right)
    if isinstance(node, ast.IfExp):
        return _bare_text(node.body) or _bare_text(node.orelse)
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name) and func.id in TRANSLATORS:
            return None
        if isinstance(func, ast.Attribute) and func.attr in ("format", "join", "strip", "rstrip"):
            return _bare_text(func.value)
    return None


def _callee(node: ast.Call) -> str | None:
    """The called name, without a leading underscore (`_fail`, `_emit` are aliases)."""
    if isinstance(node.func, ast.Name):
        return node.func.id.lstrip("_")
    if isinstance(node.func, ast.Attribute):
        return node.func.attr.lstrip("_")
    return None


def untranslated(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not (isinstance(node, ast.Call) and _callee(node) in PRINTERS):
            continue
        for arg in [*node.args, *(k.value for k in node.keywords if k.arg in (
                "message", "text", "msg"))]:
            text = _bare_text(arg)
            if text is not None and (path.name, text) not in DATA_OUTPUT:
                found.append(f"{path.name}:{node.lineno}: {text}")
    return found


@pytest.mark.parametrize("module", CLI_MODULES, ids=lambda p: p.name)
def test_every_printed_message_goes_through_the_catalogue(module: Path) -> None:
    assert untranslated(module) == []


@pytest.mark.parametrize("module", CLI_MODULES, ids=lambda p: p.name)
def test_no_module_hides_the_translator(module: Path) -> None:
    # `data, _ = ...` would make every later `_("...")` in that function call the data
    bound = [f"{module.name}:{n.lineno}" for n in ast.walk(ast.parse(module.read_text()))
             if isinstance(n, ast.Name) and n.id in TRANSLATORS and isinstance(n.ctx, ast.Store)]
    assert bound == []


# -- the catalogue ------------------------------------------------------------------------
PLACEHOLDER = re.compile(r"\{(\w+)\}")


@pytest.fixture(scope="module")
def cli_template() -> object:
    return catalog.extract_cli()


def _marked(path: Path) -> set[str]:
    """The texts a module passes to `_()` / `ngettext()` (the singular)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in TRANSLATORS and node.args
                and isinstance(node.args[0], ast.Constant)):
            found.add(node.args[0].value)
    return found


@pytest.mark.parametrize("module", CLI_MODULES, ids=lambda p: p.name)
def test_every_marked_text_is_extracted(module: Path, cli_template: object) -> None:
    # Babel does not look inside f-strings: a `_()` there would never be translated.
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in cli_template}  # type: ignore[attr-defined]
    assert _marked(module) - ids == set()


def test_the_template_on_disk_is_current(cli_template: object) -> None:
    with catalog.CLI_POT.open("rb") as f:
        on_disk = {m.id for m in read_po(f) if m.id}
    extracted = {m.id for m in cli_template if m.id}  # type: ignore[attr-defined]
    assert on_disk == extracted, "run: python -m mineaction.reports.catalog --domain cli"


def _cli_po(lang: str) -> Path:
    po = catalog.HERE / "locales" / lang / "LC_MESSAGES" / "cli.po"
    if not po.is_file():
        pytest.fail(f"no cli catalogue for {lang}")
    return po


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_language_translates_every_message(lang: str, cli_template: object) -> None:
    assert catalog.missing(_cli_po(lang), cli_template) == []  # type: ignore[arg-type]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_translations_keep_the_placeholders(lang: str) -> None:
    with _cli_po(lang).open("rb") as f:
        messages = [m for m in read_po(f, locale=lang) if m.id and m.string]
    wrong = []
    for m in messages:
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        expected = set(PLACEHOLDER.findall(ids[-1]))
        for text in m.string if isinstance(m.string, tuple) else (m.string,):
            if text and set(PLACEHOLDER.findall(text)) != expected:  # empty: missing, above
                wrong.append(f"{ids[0]!r} -> {text!r}")
    assert wrong == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_catalogue_states_the_language_s_plural_rule(lang: str) -> None:
    # the command line compiles a .po without Babel's locale data (cli_i18n.py): the plural
    # forms (three in Russian and Ukrainian, six in Arabic) come from its header alone
    from babel.messages.catalog import Catalog

    with _cli_po(lang).open("rb") as f:
        header_rule = read_po(f).plural_forms
    assert header_rule == Catalog(locale=lang).plural_forms


# -- choosing the language ----------------------------------------------------------------
@pytest.mark.parametrize(("env", "expected"), [
    ({"MINEACTION_LANG": "es"}, "es"),
    ({"MINEACTION_LANG": "az-AZ"}, "az"),
    ({"LANG": "es_CO.UTF-8"}, "es"),
    ({"LANG": "uk_UA.UTF-8"}, "uk"),
    ({"LC_MESSAGES": "ru_RU.UTF-8", "LANG": "en_GB.UTF-8"}, "ru"),
    ({"LC_ALL": "ar_EG.UTF-8", "LC_MESSAGES": "ru_RU.UTF-8"}, "ar"),
    ({"LC_ALL": "C", "LANG": "es_ES.UTF-8"}, "en"),
    ({"MINEACTION_LANG": "en", "LANG": "es_ES.UTF-8"}, "en"),
    ({"LANG": "de_DE.UTF-8"}, "en"),
    ({"LANG": "pt_BR.UTF-8"}, "en"),
    ({}, "en"),
])
def test_the_language_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                  env: dict[str, str], expected: str) -> None:
    from mineaction import cli_i18n

    for name in ("MINEACTION_LANG", *cli_i18n.LOCALE_VARIABLES):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert cli_i18n.language() == expected


def test_counts_follow_the_language(monkeypatch: pytest.MonkeyPatch) -> None:
    from mineaction import cli_i18n

    assert cli_i18n.num(12345) == "12,345"
    monkeypatch.setenv("MINEACTION_LANG", "es")
    assert cli_i18n.num(12345) == "12.345"
    monkeypatch.setenv("MINEACTION_LANG", "ru")
    assert cli_i18n.num(12345) == "12\xa0345"


# -- a real process -----------------------------------------------------------------------
def _run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("MINEACTION_LANG", "LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE")}
    return subprocess.run([sys.executable, "-m", "mineaction", *args], capture_output=True,
                          text=True, env={**clean, **env}, timeout=120, check=False)


def _spanish(message: str, same: bool = False) -> str:
    from mineaction.reports.i18n import translations

    text = translations("es", "cli").gettext(message)
    assert same or text != message, f"no Spanish for {message!r}"
    return str(text)


@pytest.fixture(scope="module")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli-lang") / "store.gpkg"
    made = _run(["init", "--store", str(path)], MINEACTION_LANG="en")
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("store ready: ")
    return path


@pytest.mark.parametrize("env", [{"MINEACTION_LANG": "es"}, {"LANG": "es_CO.UTF-8"}],
                         ids=["MINEACTION_LANG", "LANG"])
def test_info_speaks_spanish(small_store: Path, env: dict[str, str]) -> None:
    english = _run(["info", "--store", str(small_store)], MINEACTION_LANG="en")
    spanish = _run(["info", "--store", str(small_store)], **env)
    assert spanish.returncode == 0, spanish.stderr
    first = spanish.stdout.splitlines()[0]
    heading = _spanish("store: {store} ({dialect}, schema version {schema})")
    assert first.startswith(heading.split("{store}")[0])
    assert "schema version" in english.stdout and "schema version" not in spanish.stdout


@pytest.mark.parametrize("env", [{"MINEACTION_LANG": "es"}, {"LANG": "es_CO.UTF-8"}],
                         ids=["MINEACTION_LANG", "LANG"])
def test_an_error_speaks_spanish(tmp_path: Path, env: dict[str, str]) -> None:
    missing = tmp_path / "nowhere.gpkg"
    done = _run(["info", "--store", str(missing)], **env)
    assert done.returncode == 2
    expected = _spanish("error: {message}", same=True).format(message=_spanish(

        "no store at {location}: check --store, or create one with "
        "`mineaction init --store {location}`").format(location=missing))
    assert done.stderr.strip() == expected
    assert not missing.exists()


def test_english_start_up_loads_no_catalogue(small_store: Path) -> None:
    # issue 16: `mineaction info` in English needs neither Babel nor a catalogue; in
    # Spanish the catalogue is compiled only once something is printed.
    probe = ("import sys\nfrom mineaction.cli import main\nsys.argv = ['mineaction', "
             f"'info', '--store', {str(small_store)!r}]\n"
             "try:\n    main()\nexcept SystemExit:\n    pass\n"
             "print('BABEL', 'babel.messages' in sys.modules, file=sys.stderr)\n")
    clean = {k: v for k, v in os.environ.items() if k != "MINEACTION_LANG"}
    for lang, loaded in (("en", False), ("es", True)):
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                              env={**clean, "MINEACTION_LANG": lang}, timeout=120,
                              check=False)
        assert f"BABEL {loaded}" in done.stderr, (lang, done.stderr)
