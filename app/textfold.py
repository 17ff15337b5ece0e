"""Case- and accent-insensitive text keys, so "Köln", "KOLN" and "köln " compare equal."""
import re
import unicodedata

_WORD = re.compile(r"\w+")


def fold(text):
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())


def words(text):
    return _WORD.findall(fold(text))
