"""Text made safe for a terminal, and measured the way a terminal shows it.

Anything printed for people (names, descriptions, labels, plugin documentation,
error messages) may come from someone else: a connector registered by a
colleague, a plugin, a server's answer. :func:`clean` removes what a terminal
would act on instead of showing: escape sequences (colours, cursor moves, window
titles, hyperlinks), C0 and C1 control characters, and the bidirectional
overrides that make text read differently from what it holds.
"""

from __future__ import annotations

import re
import sys

# Whole escape sequences, so that no parameter bytes are left behind: CSI (ESC [ or
# 8-bit CSI), the string sequences OSC, DCS, SOS, PM, APC up to their terminator (or
# the end of the text, where a terminal would swallow everything), and the short
# two- or three-byte escapes.
_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]).*?(?:\x07|\x9c|\x1b\\|\Z)"
    r"|\x1b[ -/]*[0-~]?",
    re.DOTALL,
)
# What is left: C0 controls but newline (a tab becomes a space first), DEL, C1 controls,
# and the bidirectional marks, embeddings, overrides and isolates.
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS = re.compile(r"\r\n|[\r\u2028\u2029\x0b\x0c\x85]")


def stdout_takes_unicode() -> bool:
    """Whether standard output's encoding can hold any character (UTF-8, as nearly always)."""
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    return encoding.lower().replace("-", "").replace("_", "").startswith("utf")


def clean(text: object) -> str:
    """``text`` as a string a terminal shows as it is; newlines are kept, tabs become spaces."""
    value = "" if text is None else str(text)
    value = _LINE_BREAKS.sub("\n", value)
    value = _SEQUENCE.sub("", value)
    return _CONTROL.sub("", value.replace("\t", " "))


def clean_line(text: object) -> str:
    """``text`` cleaned and folded onto one line (for error messages and prompts)."""
    return " ".join(part.strip() for part in clean(text).split("\n") if part.strip())


def display_width(line: str) -> int:
    """Columns ``line`` (already cleaned, no newline) takes on a terminal."""
    from wcwidth import width

    return max(0, int(width(line)))


def wrap_line(line: str, columns: int) -> list[str]:
    """``line`` (cleaned, no newline) wrapped to ``columns`` display columns.

    Breaks at spaces and hyphens when it can and inside a word when it must
    (identifiers, URLs); a wide character is never split.
    """
    if display_width(line) <= columns:
        return [line]
    from wcwidth import wrap

    return wrap(line, max(1, columns), propagate_sgr=False) or [""]
