# SPDX-License-Identifier: GPL-3.0-or-later
"""A CQL2-text parser (issue 23): pygeofilter's, with three of its grammar's rules
corrected, giving pygeofilter's AST (`pygeofilter.ast`).

pygeofilter 0.4.0 (the newest) reads `a OR b AND c` as `(a OR b) AND c` (AND and OR at
one level, left to right; CQL2, like SQL, binds AND tighter), refuses `NOT (a OR b)`,
and ends a text literal at a doubled quote (CQL2 writes O'Brien as 'O''Brien'). A
filter read the first way answers a different question without a word, so its boolean
rules and its text literal are replaced here; its expressions, literals, geometries (WKT)
and AST are used as they are. The rules are found by their text: a pygeofilter whose
grammar changed fails at import, not on a user's filter."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pygeofilter.parsers.cql2_text.parser as upstream
from lark import Lark

_UPSTREAM_CONDITION = '''?condition: condition_1
          | condition "AND"i condition_1                                 -> and_
          | condition "OR"i condition_1                                   -> or_

?condition_1: predicate
            | "NOT"i predicate                                               -> not_
            | "NOT"i "(" predicate ")"                                       -> not_
            | "(" condition ")"
'''
# OR below AND below NOT, as CQL2's BNF (booleanExpression, booleanTerm, booleanFactor).
_CONDITION = '''?condition: condition_and
          | condition "OR"i condition_and                                 -> or_

?condition_and: condition_1
          | condition_and "AND"i condition_1                              -> and_

?condition_1: predicate
            | "NOT"i condition_1                                             -> not_
            | "(" condition ")"
'''
_UPSTREAM_QUOTED = '''SINGLE_QUOTED: "'" /.*?/ "'"'''
_QUOTED = '''SINGLE_QUOTED: /'(?:[^']|'')*'/'''


class _Transformer(upstream.CQLTransformer):  # type: ignore[misc]
    def SINGLE_QUOTED(self, token: Any) -> str:  # noqa: N802 - the terminal's name
        return str(token[1:-1]).replace("''", "'")


def _grammar() -> str:
    text = (Path(upstream.__file__).parent / "grammar.lark").read_text(encoding="utf-8")
    for old, new in ((_UPSTREAM_CONDITION, _CONDITION), (_UPSTREAM_QUOTED, _QUOTED)):
        if text.count(old) != 1:
            raise RuntimeError("pygeofilter's CQL2 grammar changed: review "
                               "services/cql2_text.py against it")
        text = text.replace(old, new)
    return text


_PARSER = Lark(_grammar(), parser="lalr", maybe_placeholders=False,
               transformer=_Transformer(),
               import_paths=[os.path.dirname(os.path.dirname(upstream.__file__))])


def parse(text: str) -> Any:
    """The AST of a CQL2-text filter; lark's errors on text that is not one."""
    return _PARSER.parse(text)
