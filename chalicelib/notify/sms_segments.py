"""How many SMS segments a text costs: GSM-7 (160 alone, 153 per part) or, with any character
outside it, UCS-2 (70 alone, 67 per part). The templates are kept to two segments."""

from __future__ import annotations

import unicodedata

MAX_SEGMENTS = 2

# The GSM 03.38 default alphabet and its extension table (an extension character costs two).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
# Letters Unicode does not decompose into a base letter and an accent.
_PLAIN = str.maketrans({"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "\u0131": "i", "Ŧ": "T", "ŧ": "t"})


def is_gsm7(text: str) -> bool:
    return all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)


def segments(text: str) -> int:
    """The number of segments the text is sent in."""
    if is_gsm7(text):
        units = sum(2 if c in GSM7_EXTENSION else 1 for c in text)
        single, part = 160, 153
    else:
        units = sum(2 if ord(c) > 0xFFFF else 1 for c in text)  # UTF-16 code units
        single, part = 70, 67
    if units <= single:
        return 1
    return -(-units // part)


def gsm7_safe(text: str) -> str:
    """The text in GSM-7: accents outside it dropped (Zoë -> Zoe), other characters replaced,
    so one name does not turn a whole SMS into UCS-2 at less than half the length."""
    out = []
    for char in text.translate(_PLAIN):
        if char in GSM7_BASIC or char in GSM7_EXTENSION:
            out.append(char)
            continue
        base = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        )
        out.append(base if base and is_gsm7(base) else "?")
    return "".join(out)
