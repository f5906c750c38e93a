"""IRC-correct word matching of registered nicks and keywords against a message."""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable
from typing import Generic, Literal, TypeVar

__all__ = ["CaseMapping", "Matcher", "fold_words", "irc_lower", "words"]

CaseMapping = Literal["ascii", "rfc1459", "strict-rfc1459"]

_ASCII_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ASCII_LOWER = "abcdefghijklmnopqrstuvwxyz"
_FOLD_TABLES: dict[str, dict[int, int]] = {
    "ascii": str.maketrans(_ASCII_UPPER, _ASCII_LOWER),
    "rfc1459": str.maketrans(_ASCII_UPPER + "[]\\~", _ASCII_LOWER + "{}|^"),
    "strict-rfc1459": str.maketrans(_ASCII_UPPER + "[]\\", _ASCII_LOWER + "{}|"),
}
# A server may advertise a CASEMAPPING we do not know (e.g. rfc7613); rfc1459 is the
# protocol's default and folds the most ASCII, so it is the safest guess.
_DEFAULT_TABLE = _FOLD_TABLES["rfc1459"]

# \w is ASCII letters, digits, "_" and every character for which str.isalnum() is
# true. The combining-mark blocks are added so that a decomposed accent (macOS input
# sends "l" + U+0301) glues to its letter instead of ending the word before it.
_WORD_CHARS = (
    r"\w\[\]\\`^{|}\-"
    "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
)
_WORD = re.compile(f"[{_WORD_CHARS}]+")

K = TypeVar("K", bound=Hashable)


def irc_lower(text: str, casemapping: str = "rfc1459") -> str:
    """Fold text to lower case under an IRC CASEMAPPING (unknown values act as rfc1459)."""
    return text.translate(_FOLD_TABLES.get(casemapping, _DEFAULT_TABLE))


def words(text: str) -> list[str]:
    """Return the maximal runs of IRC word characters in text, in order."""
    return _WORD.findall(text)


def fold_words(text: str, casemapping: str = "rfc1459") -> set[str]:
    """The distinct IRC words of text, folded: what Matcher.owners looks up."""
    tokens = _WORD.findall(text)
    if not tokens:
        return set()
    # Fold after tokenizing: rfc1459 turns "~" (a separator) into "^" (a word
    # character), so folding first would glue "~al" into one word. Words hold no
    # spaces, so one join/translate/split folds them all in C.
    table = _FOLD_TABLES.get(casemapping, _DEFAULT_TABLE)
    return set(" ".join(tokens).translate(table).split(" "))


class Matcher(Generic[K]):
    """Maps IRC words to their owners; a lookup costs the same for 10 or 10,000 owners."""

    def __init__(self, casemapping: str = "rfc1459") -> None:
        self._table = _FOLD_TABLES.get(casemapping, _DEFAULT_TABLE)
        # folded word -> owner -> spellings as added. The spellings are kept so that
        # set_casemapping can re-fold them: two spellings that one mapping merges
        # ("[al]" and "{al}" under rfc1459) must come apart again under ascii.
        self._index: dict[str, dict[K, set[str]]] = {}
        self._pairs = 0

    def __len__(self) -> int:
        """Number of (folded word, owner) pairs."""
        return self._pairs

    def add(self, word: str, owner: K) -> None:
        """Register word for owner; adding the same word again (in any case) is a no-op."""
        if _WORD.fullmatch(word) is None:
            raise ValueError(f"{word!r} is not one IRC word")
        owners = self._index.setdefault(word.translate(self._table), {})
        spellings = owners.get(owner)
        if spellings is None:
            owners[owner] = {word}
            self._pairs += 1
        else:
            spellings.add(word)

    def remove(self, word: str, owner: K) -> None:
        """Unregister word (in any case) for owner; absent pairs are ignored."""
        key = word.translate(self._table)
        owners = self._index.get(key)
        if owners is None or owners.pop(owner, None) is None:
            return
        self._pairs -= 1
        if not owners:
            del self._index[key]

    def set_casemapping(self, casemapping: str) -> None:
        """Re-fold every stored word: the server announces CASEMAPPING only after we connect."""
        old = self._index
        self._table = _FOLD_TABLES.get(casemapping, _DEFAULT_TABLE)
        self._index = {}
        self._pairs = 0
        for owners in old.values():
            for owner, spellings in owners.items():
                for spelling in spellings:
                    self.add(spelling, owner)

    def match(self, text: str) -> set[K]:
        """Return every owner with a word present in text."""
        tokens = _WORD.findall(text)
        if not tokens:
            return set()
        return self.owners(" ".join(tokens).translate(self._table).split(" "))

    def owners(self, folded: Iterable[str]) -> set[K]:
        """Every owner of one of these words, already folded (fold_words) the same way."""
        index = self._index
        found: set[K] = set()
        for key in index.keys() & folded:
            found.update(index[key])
        return found

    def found(self, text: str, owner: K) -> list[str]:
        """The words of text, as written, that belong to owner (to say why it matched)."""
        table, index = self._table, self._index
        return [
            w
            for w in dict.fromkeys(_WORD.findall(text))
            if owner in index.get(w.translate(table), ())
        ]
