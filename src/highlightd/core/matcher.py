"""IRC-correct word matching of registered nicks and keywords against a message."""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Sequence
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


def _ascii_splitter(table: dict[int, int]) -> dict[int, str]:
    """For an ASCII line: each word character folded, every other one a space, so that
    one translate and one split tokenize and fold the line (str.translate has a fast
    path for ASCII to ASCII; a line of chatter is nearly always ASCII)."""
    out = {}
    for code in range(128):
        char = chr(code)
        out[code] = chr(table.get(code, code)) if _WORD.fullmatch(char) else " "
    return out


_SPLITTERS = {name: _ascii_splitter(table) for name, table in _FOLD_TABLES.items()}
_DEFAULT_SPLITTER = _SPLITTERS["rfc1459"]

K = TypeVar("K", bound=Hashable)


def irc_lower(text: str, casemapping: str = "rfc1459") -> str:
    """Fold text to lower case under an IRC CASEMAPPING (unknown values act as rfc1459)."""
    return text.translate(_FOLD_TABLES.get(casemapping, _DEFAULT_TABLE))


def words(text: str) -> list[str]:
    """Return the maximal runs of IRC word characters in text, in order."""
    return _WORD.findall(text)


def fold_words(text: str, casemapping: str = "rfc1459") -> list[str]:
    """The IRC words of text, folded, in order (a word may repeat): what Matcher.owners
    looks up."""
    if text.isascii():
        return text.translate(_SPLITTERS.get(casemapping, _DEFAULT_SPLITTER)).split()
    return _fold_tokens(text, _FOLD_TABLES.get(casemapping, _DEFAULT_TABLE))


def _fold_tokens(text: str, table: dict[int, int]) -> list[str]:
    tokens = _WORD.findall(text)
    if not tokens:
        return []
    # Fold after tokenizing: rfc1459 turns "~" (a separator) into "^" (a word
    # character), so folding first would glue "~al" into one word. Words hold no
    # spaces, so one join/translate/split folds them all in C.
    return " ".join(tokens).translate(table).split(" ")


class Matcher(Generic[K]):
    """Maps IRC words to their owners; a lookup costs the same for 10 or 10,000 owners.

    Kept small, since the daemon holds one entry per registered nick and keyword: a
    word with one owner maps to that owner itself (a set only for two or more), and
    the spellings as added are kept apart only where they differ from the folded word.
    """

    def __init__(self, casemapping: str = "rfc1459") -> None:
        self._table = _FOLD_TABLES.get(casemapping, _DEFAULT_TABLE)
        self._splitter = _SPLITTERS.get(casemapping, _DEFAULT_SPLITTER)
        # folded word -> its owner, or a set of them (an owner is hashable, a set is not).
        self._index: dict[str, K | set[K]] = {}
        # (folded word, owner) -> the spellings added, where they are not just the folded
        # word: set_casemapping re-folds them, since two spellings one mapping merges
        # ("[al]" and "{al}" under rfc1459) must come apart again under ascii.
        self._spelled: dict[tuple[str, K], set[str]] = {}
        self._pairs = 0

    def __len__(self) -> int:
        """Number of (folded word, owner) pairs."""
        return self._pairs

    def add(self, word: str, owner: K) -> None:
        """Register word for owner; adding the same word again (in any case) is a no-op."""
        if _WORD.fullmatch(word) is None:
            raise ValueError(f"{word!r} is not one IRC word")
        key = word.translate(self._table)
        if key == word:
            key = word  # one string object for both
        index = self._index
        held = index.get(key)
        if held is None:
            index[key] = owner
        elif isinstance(held, set):
            if owner in held:
                self._respell(key, word, owner)
                return
            held.add(owner)
        elif held == owner:
            self._respell(key, word, owner)
            return
        else:
            index[key] = {held, owner}
        self._pairs += 1
        if word != key:
            self._spelled[(key, owner)] = {word}

    def add_all(self, words: Sequence[str], owners: Sequence[K]) -> None:
        """add(words[i], owners[i]) for each i, folded in one call (start-up): into an
        empty matcher, distinct words are indexed without a Python step per word, and
        trusted to be one IRC word each (as the store keeps them)."""
        words = list(words)
        joined = " ".join(words)
        folded = joined.translate(self._table)
        keys = words if folded == joined else folded.split(" ")  # mostly folded already
        fresh: dict[str, K | set[K]] = dict(zip(keys, owners, strict=False))
        # Each word was checked when it was stored; one that was not (a database edited
        # by hand) would only never match, but a space in one would shift the rest.
        if self._index or len(fresh) < len(words) or joined.count(" ") >= len(words):
            for word, owner in zip(words, owners, strict=True):
                self.add(word, owner)
            return
        self._index, self._pairs = fresh, len(fresh)
        if keys is not words:
            self._spelled = {
                (key, owner): {word}
                for key, word, owner in zip(keys, words, owners, strict=True)
                if key != word
            }

    def _respell(self, key: str, word: str, owner: K) -> None:
        """One more spelling of a pair already there."""
        spellings = self._spelled.get((key, owner))
        if spellings is not None:
            spellings.add(word)
        elif word != key:
            self._spelled[(key, owner)] = {key, word}

    def remove(self, word: str, owner: K) -> None:
        """Unregister word (in any case) for owner; absent pairs are ignored."""
        key = word.translate(self._table)
        held = self._index.get(key)
        if held is None:
            return
        if isinstance(held, set):
            if owner not in held:
                return
            held.discard(owner)
            if len(held) == 1:
                self._index[key] = next(iter(held))
        elif held == owner:
            del self._index[key]
        else:
            return
        self._pairs -= 1
        self._spelled.pop((key, owner), None)

    def drop(self, owner: K) -> None:
        """Unregister every word of owner: a pass over all the words."""
        index = self._index
        for key, held in list(index.items()):
            if isinstance(held, set):
                if owner not in held:
                    continue
                held.discard(owner)
                if len(held) == 1:
                    index[key] = next(iter(held))
            elif held == owner:
                del index[key]
            else:
                continue
            self._pairs -= 1
            self._spelled.pop((key, owner), None)

    def set_casemapping(self, casemapping: str) -> None:
        """Re-fold every stored word: the server announces CASEMAPPING only after we connect."""
        old, spelled = self._index, self._spelled
        self._table = _FOLD_TABLES.get(casemapping, _DEFAULT_TABLE)
        self._splitter = _SPLITTERS.get(casemapping, _DEFAULT_SPLITTER)
        self._index, self._spelled, self._pairs = {}, {}, 0
        for key, held in old.items():
            for owner in held if isinstance(held, set) else (held,):
                for spelling in spelled.get((key, owner), (key,)):
                    self.add(spelling, owner)

    def match(self, text: str) -> set[K]:
        """Return every owner with a word present in text."""
        if text.isascii():
            return self.owners(text.translate(self._splitter).split())
        return self.owners(_fold_tokens(text, self._table))

    def owners(self, folded: Iterable[str]) -> set[K]:
        """Every owner of one of these words, already folded (fold_words) the same way."""
        index = self._index
        found: set[K] = set()
        for key in index.keys() & folded:
            held = index[key]
            if isinstance(held, set):
                found.update(held)
            else:
                found.add(held)
        return found

    def words(self) -> set[str]:
        """Every word held, folded."""
        return set(self._index)

    def owner_of(self, folded: str) -> K | None:
        """The one owner of a word (already folded); None if none, or several."""
        held = self._index.get(folded)
        return None if held is None or isinstance(held, set) else held

    def owns(self, folded: str, owner: K) -> bool:
        """Whether owner registered this word (already folded)."""
        held = self._index.get(folded)
        if held is None:
            return False
        return owner in held if isinstance(held, set) else held == owner

    def found(self, text: str, owner: K) -> list[str]:
        """The words of text, as written, that belong to owner (to say why it matched)."""
        table = self._table
        return [
            w for w in dict.fromkeys(_WORD.findall(text)) if self.owns(w.translate(table), owner)
        ]
