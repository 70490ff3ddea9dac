# SPDX-License-Identifier: GPL-3.0-or-later
"""The user guide's translations keep step with the English guide (issue 22).

docs/user-guide.md is the authoritative text; docs/user-guide.LANG.md translates it for
es, az, ru, uk and ar. A reader switches languages section by section, and copies commands
from whichever version they read, so each translation must have:

- the English guide's heading levels, in the same order, with the same section numbers;
- the English guide's fenced code blocks, byte for byte and in order (commands and their
  output are what the program prints, whatever the reader's language);
- the English guide's link and image targets (as a multiset: word order may move a link),
  and in-page links that land on a heading or an explicit anchor of that file;
- the language-switch line linking all six versions near the top (in the English guide too);
- no `<!-- executed -->` markers (only the English guide's blocks are executed, by
  tests/test_doc_examples.py);
- prose that is actually translated: fewer than 5% of the English prose lines may appear
  verbatim in it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
ENGLISH = DOCS / "user-guide.md"
LANGUAGES = ["es", "az", "ru", "uk", "ar"]
GUIDE_FILES = {"user-guide.md", *(f"user-guide.{lang}.md" for lang in LANGUAGES)}
MAX_VERBATIM_SHARE = 0.05
SWITCH_LINE_WITHIN = 8  # lines from the top: right below the title (and the translator's note)

FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
SECTION_NUMBER = re.compile(r"^(\d+(?:\.\d+)*)\.\s")
# [text](target) and ![alt](target), with an optional "title"; the text may hold `code`.
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
INLINE_CODE = re.compile(r"`+[^`]*`+")
EXPLICIT_ANCHOR = re.compile(r"""<a\s+(?:id|name)=["']([^"']+)["']""")
WORD = re.compile(r"[^\W\d_]{2,}")


@dataclass
class Guide:
    """A guide split into what must match the English one and what is prose."""

    path: Path
    lines: list[str]  # every line of the file
    headings: list[tuple[int, str]]  # (level, text), outside code blocks
    code_blocks: list[list[str]]  # each block's lines, fences included
    text_lines: list[str]  # lines outside code blocks

    @property
    def link_targets(self) -> list[str]:
        return [m.group(1) for line in self.text_lines
                for m in LINK.finditer(INLINE_CODE.sub("", line))]


def parse(path: Path) -> Guide:
    lines = path.read_text(encoding="utf-8").splitlines()
    headings: list[tuple[int, str]] = []
    blocks: list[list[str]] = []
    text: list[str] = []
    block: list[str] | None = None
    fence = ""
    for line in lines:
        opener = FENCE.match(line)
        if block is None and opener:
            block, fence = [line], opener.group(1)
        elif block is not None:
            block.append(line)
            if line.strip() == fence:
                blocks.append(block)
                block = None
        else:
            text.append(line)
            heading = HEADING.match(line)
            if heading:
                headings.append((len(heading.group(1)), heading.group(2)))
    assert block is None, f"{path.name}: a code block is not closed"
    return Guide(path, lines, headings, blocks, text)


def translation(lang: str) -> Path:
    return DOCS / f"user-guide.{lang}.md"


@pytest.fixture(scope="module")
def english() -> Guide:
    return parse(ENGLISH)


@pytest.fixture(params=LANGUAGES)
def translated(request: pytest.FixtureRequest) -> Guide:
    path = translation(request.param)
    assert path.exists(), f"{path.relative_to(DOCS.parent)} does not exist yet (issue 22)"
    return parse(path)


def switch_line(guide: Guide) -> str | None:
    """The line near the top that links every other version of the guide."""
    others = GUIDE_FILES - {guide.path.name}
    for line in guide.lines[:SWITCH_LINE_WITHIN]:
        if others <= set(LINK.findall(line)):
            return line
    return None


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.replace("`", "").lower()).replace(" ", "-")


def prose_lines(guide: Guide) -> list[str]:
    """Lines of running text: three words or more once code, links and markup are gone."""
    prose = []
    for line in guide.text_lines:
        bare = LINK.sub(lambda m: m.group(0).split("](")[0], INLINE_CODE.sub("", line))
        if len(WORD.findall(bare)) >= 3:
            prose.append(line.strip())
    return prose


def test_the_english_guide_has_the_language_switch_line(english: Guide) -> None:
    line = switch_line(english)
    assert line is not None, "docs/user-guide.md: no line linking the five translations " \
                             "right below the title"
    assert english.lines.index(line) < english.lines.index(next(
        line for line in english.lines if line.startswith("## "))), "switch line after section 1"


def test_the_translation_has_the_language_switch_line(translated: Guide) -> None:
    assert switch_line(translated) is not None, \
        f"{translated.path.name}: no line linking the other five versions of the guide " \
        f"within its first {SWITCH_LINE_WITHIN} lines"


def test_the_headings_have_the_english_levels_and_numbers(english: Guide,
                                                          translated: Guide) -> None:
    assert [level for level, _ in translated.headings] == \
           [level for level, _ in english.headings], \
        f"{translated.path.name}: heading levels differ from the English guide's"

    def numbers(guide: Guide) -> list[str | None]:
        found = (SECTION_NUMBER.match(text) for _, text in guide.headings)
        return [m.group(1) if m else None for m in found]

    assert numbers(translated) == numbers(english), \
        f"{translated.path.name}: section numbers differ from the English guide's"


def test_the_code_blocks_are_the_english_ones(english: Guide, translated: Guide) -> None:
    assert len(translated.code_blocks) == len(english.code_blocks), \
        f"{translated.path.name}: {len(translated.code_blocks)} code blocks, " \
        f"the English guide has {len(english.code_blocks)}"
    pairs = zip(translated.code_blocks, english.code_blocks, strict=True)
    for number, (theirs, ours) in enumerate(pairs, start=1):
        assert theirs == ours, f"{translated.path.name}: code block {number} (starting " \
                               f"{ours[0]!r} {ours[1] if len(ours) > 1 else ''!r}) differs"


def test_the_link_and_image_targets_are_the_english_ones(english: Guide,
                                                          translated: Guide) -> None:
    def targets(guide: Guide) -> Counter[str]:
        # links between the versions (the switch line, the translator's note) are not content
        return Counter(t for t in guide.link_targets if t not in GUIDE_FILES)

    theirs, ours = targets(translated), targets(english)
    assert theirs == ours, f"{translated.path.name}: missing {dict(ours - theirs)}, " \
                           f"extra {dict(theirs - ours)}"


def test_in_page_links_land_somewhere(translated: Guide) -> None:
    # The targets stay the English anchors, so a translated heading needs an explicit
    # <a id="..."></a> carrying the English anchor for the link to work.
    anchors = {slug(text) for _, text in translated.headings}
    anchors |= {a for line in translated.text_lines for a in EXPLICIT_ANCHOR.findall(line)}
    dangling = sorted({t[1:] for t in translated.link_targets if t.startswith("#")} - anchors)
    assert not dangling, f"{translated.path.name}: in-page links to no anchor: {dangling}"


def test_no_executed_markers_are_copied(translated: Guide) -> None:
    assert not any("<!-- executed" in line for line in translated.lines), \
        f"{translated.path.name}: `<!-- executed -->` markers belong to the English guide only"


def test_the_prose_is_translated(english: Guide, translated: Guide) -> None:
    english_prose = prose_lines(english)
    assert len(english_prose) > 100  # the measure below is meaningful
    theirs = {line.strip() for line in translated.text_lines}
    verbatim = [line for line in english_prose if line in theirs]
    share = len(verbatim) / len(english_prose)
    assert share < MAX_VERBATIM_SHARE, \
        f"{translated.path.name}: {share:.0%} of the English prose lines are left in English, " \
        f"e.g. {verbatim[:3]}"
