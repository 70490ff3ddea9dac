"""What makes a password acceptable (issue 15, 17), after NIST SP 800-63B 5.1.1.2: at
least `MIN_LENGTH` characters, and none that an attacker tries first:

- any of the 19,640 most common passwords (auth/data/common-passwords.txt.gz, with its
  source and licence in auth/data/README.md), compared without case;
- the username, or the name of this system, anywhere in it;
- one character repeated (`aaaaaaaaaa`), a few repeated (`abcabcabcabc`), or a run of
  consecutive characters (`1234567890`, `abcdefghijk`, `9876543210`).

No rules of composition (a digit, a capital ...): NIST advises against them. Checked when
a password is set (`UserDirectory.add`, `set_password`), never at sign-in, so a password
set before a rule existed still works until it is changed.
"""

from __future__ import annotations

import gzip
from functools import cache
from importlib import resources

MIN_LENGTH = 10
CONTEXT_WORDS = ("mineaction",)


@cache
def common_passwords() -> frozenset[str]:
    data = resources.files("mineaction.auth").joinpath("data/common-passwords.txt.gz")
    text = gzip.decompress(data.read_bytes()).decode("utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


def _repeats_a_few_characters(password: str, longest_unit: int = 4) -> bool:
    n = len(password)
    return any(n % k == 0 and n // k >= 2 and password == password[:k] * (n // k)
               for k in range(1, longest_unit + 1))


def _is_a_run(password: str) -> bool:
    steps = {ord(b) - ord(a) for a, b in zip(password, password[1:], strict=False)}
    return steps in ({1}, {-1})


def problem(password: str, username: str | None = None) -> str | None:
    """Why `password` may not be used (by `username`), or None when it may."""
    if len(password) < MIN_LENGTH:
        return f"a password has at least {MIN_LENGTH} characters"
    folded = password.casefold()
    if folded in common_passwords() or folded.strip() in common_passwords():
        return "this password is one of the most common ones; choose another"
    name = (username or "").strip().casefold()
    if len(name) >= 3 and name in folded:
        return "a password may not contain the username"
    if any(word in folded for word in CONTEXT_WORDS):
        return "a password may not contain the name of this system"
    if len(set(password)) == 1:
        return "a password may not be one character repeated"
    if _repeats_a_few_characters(password):
        return "a password may not be a few characters repeated"
    if _is_a_run(password):
        return "a password may not be a run of consecutive characters"
    return None
