"""Chinese punctuation for people to read.

Texts are written with ASCII ",:;()?!" (the engine's explanations, the pages' templates, the
messages); where such a mark stands next to Chinese text it is shown full-width, as Chinese
typography wants. Digits and Latin context keep ASCII: "5.48", "R4(m²)", "school_year.students_primary".
Documents typeset their text (`Typesetter`, keeping names from the data verbatim); web pages
typeset the visible text of their HTML (`typeset_html`); data (JSON, form values) is never changed.
"""

from __future__ import annotations

import re

FULL_WIDTH = {",": "\uff0c", ":": "\uff1a", ";": "\uff1b", "(": "\uff08", ")": "\uff09", "?": "\uff1f", "!": "\uff01"}
WIDE_EXTRA = set("“”‘’、。《》【】—…·")
_MARKS = re.compile(r"[,:;()?!]")

PLACEHOLDER_BASE = 0xE000  # private-use characters stand in for protected names while typesetting
PLACEHOLDER_LIMIT = 0x1800


def is_wide(ch: str) -> bool:
    if not ch:
        return False
    code = ord(ch)
    return (0x2E80 <= code <= 0x9FFF or PLACEHOLDER_BASE <= code < PLACEHOLDER_BASE + PLACEHOLDER_LIMIT
            or 0xF900 <= code <= 0xFAFF or 0xFF00 <= code <= 0xFFEF or 0x3000 <= code <= 0x303F or ch in WIDE_EXTRA)


def typeset(text: str) -> str:
    """ASCII punctuation next to Chinese text → full-width; parentheses converted in pairs.
    Left to right: a mark after a converted one counts as next to Chinese text."""
    if not text or not _MARKS.search(text):
        return text
    out = list(text)  # converted in place, so out[i - 1] is the previous mark as shown
    opened: list[bool] = []
    for match in _MARKS.finditer(text):
        i, ch = match.start(), match.group()
        prev = out[i - 1] if i else ""
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if ch == "(":
            wide = is_wide(prev) or is_wide(nxt)
            opened.append(wide)
        elif ch == ")":
            wide = opened.pop() if opened else (is_wide(prev) or is_wide(nxt))
        else:
            wide = is_wide(prev) or is_wide(nxt)
        if wide:
            out[i] = FULL_WIDTH[ch]
    return "".join(out)


class Typesetter:
    """`typeset` that leaves names from the data (county and school names) exactly as written."""

    def __init__(self, protected: set[str] | frozenset[str] = frozenset()):
        names = sorted((n for n in protected if n and any(ch in FULL_WIDTH for ch in n)), key=len, reverse=True)
        self.names = names[:PLACEHOLDER_LIMIT]
        self.placeholders = {name: chr(PLACEHOLDER_BASE + k) for k, name in enumerate(self.names)}

    def __call__(self, text: str) -> str:
        if not text or not any(ch in FULL_WIDTH for ch in text):
            return text
        for name in self.names:
            if name in text:
                text = text.replace(name, self.placeholders[name])
        text = typeset(text)
        for name, mark in self.placeholders.items():
            if mark in text:
                text = text.replace(mark, name)
        return text


# ---------------------------------------------------------------- web pages

# What is not visible text: comments, tags (attributes hold URLs and form values), entities, and
# elements whose content is code or what a user typed.
_NOT_TEXT = re.compile(r"<!--.*?-->|<(script|style|textarea|pre|code)\b.*?</\1\s*>|<[^>]*>|&#?\w+;", re.S | re.I)
_TOKEN_BASE = 0xF0000  # supplementary private-use planes: one character stands for each token
_TOKEN_LIMIT = 0x1FFFE
_TOKEN = re.compile("[\U000F0000-\U0010FFFD]")


def typeset_html(html: str) -> str:
    """The page with its visible text typeset; markup, attributes, entities, scripts and text
    areas as they were. A token stands in as one neutral character, so a mark right after a tag
    looks only at the text after it."""
    if not _MARKS.search(html):
        return html
    tokens: list[str] = []

    def hold(match: re.Match) -> str:
        tokens.append(match.group())
        return chr(_TOKEN_BASE + len(tokens) - 1)

    text = _NOT_TEXT.sub(hold, html)
    if len(tokens) > _TOKEN_LIMIT or _TOKEN.search(html):  # too large, or the page uses these characters itself
        return html
    return _TOKEN.sub(lambda m: tokens[ord(m.group()) - _TOKEN_BASE], typeset(text))
