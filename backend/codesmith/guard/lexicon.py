"""Fast matching for the local check: a prompt is split into words once; vocabularies are then set
lookups, and a context pattern runs only when one of its trigger words is in the prompt."""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

# A word, keeping joined forms whole ("node.js", "c++", "tic-tac-toe", "ci/cd", "let's").
_WORD = re.compile(r"\w[\w'.+#/:-]*[\w+#]|\w")
_SIMPLE_WORD = re.compile(r"\w+")
# Invisible characters go; curly apostrophes (U+2018, U+2019) become straight ones.
_FOLD: dict[int, str | None] = {
    **dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff")),
    ord("\u2019"): "'",
    ord("\u2018"): "'",
}


@dataclass(frozen=True, slots=True)
class Text:
    """A prompt prepared for matching."""

    original: str  # NFKC-normalised, invisible characters removed, apostrophes straightened
    lower: str
    words: frozenset[str]  # every word, and the parts of joined words ("docker-compose": "docker", "compose")
    pairs: frozenset[tuple[str, str]]  # every two consecutive words
    joined: str  # the words separated by single spaces, with a space at each end
    is_ascii: bool

    @classmethod
    def of(cls, text: str) -> Text:
        # NFKC folds look-alike forms (full-width letters, ligatures) into plain ones.
        original = unicodedata.normalize("NFKC", text).translate(_FOLD)
        lower = original.lower()
        tokens = _WORD.findall(lower)
        words = set(tokens)
        words.update(_SIMPLE_WORD.findall(lower))  # the parts of joined words
        return cls(
            original,
            lower,
            frozenset(words),
            frozenset(itertools.pairwise(tokens)),
            f" {' '.join(tokens)} ",
            lower.isascii(),
        )


def split_words(text: str) -> list[str]:
    return _WORD.findall(text)


class Lexicon:
    """Words and phrases (lower case; a phrase's words separated by single spaces)."""

    __slots__ = ("_long_phrases", "_long_starts", "_two_words", "words")

    def __init__(self, entries: Iterable[str]) -> None:
        words: set[str] = set()
        two_words: set[tuple[str, str]] = set()
        self._long_phrases: dict[tuple[str, str], list[str]] = {}  # by their first two words
        for entry in entries:
            tokens = split_words(entry)
            if len(tokens) == 1 and tokens[0] == entry:
                words.add(entry)
            elif " ".join(tokens) != entry:
                raise ValueError(f"{entry!r} cannot match: it does not split into words as prompts do")
            elif len(tokens) == 2:
                two_words.add((tokens[0], tokens[1]))
            else:
                self._long_phrases.setdefault((tokens[0], tokens[1]), []).append(f" {entry} ")
        self.words = frozenset(words)
        self._two_words = frozenset(two_words)
        self._long_starts = frozenset(self._long_phrases)

    def found_in(self, text: Text) -> bool:
        if not self.words.isdisjoint(text.words) or not self._two_words.isdisjoint(text.pairs):
            return True
        # A longer phrase is worth looking for only where its first two words follow each other.
        return any(
            phrase in text.joined
            for start in self._long_starts.intersection(text.pairs)
            for phrase in self._long_phrases[start]
        )


# Special trigger values: a rule that always runs, or only on text that is not plain ASCII.
ALWAYS = "<always>"
NON_ASCII = "<non-ascii>"


class Rule:
    """A regular expression that runs only when it can match: one of its trigger words is present (or
    the text is not plain ASCII, or always), and one of the characters it needs."""

    __slots__ = ("needs", "on_original", "pattern", "triggers", "when")

    def __init__(self, pattern: str, triggers: str, *, needs: str = "", on_original: bool = False) -> None:
        """`triggers`: space-separated words, ALWAYS or NON_ASCII; `needs`: characters, one of which must
        be in the text; `on_original`: match the text as written rather than lower-cased."""
        self.pattern = re.compile(pattern)
        self.when = triggers if triggers in (ALWAYS, NON_ASCII) else "words"
        self.triggers = frozenset(triggers.split()) if self.when == "words" else frozenset()
        self.needs = needs
        self.on_original = on_original

    def applies(self, text: Text) -> bool:
        """Whether a trigger word is present (the characters it needs are checked by `search`)."""
        if self.when == ALWAYS:
            return True
        if self.when == NON_ASCII:
            return not text.is_ascii
        return not self.triggers.isdisjoint(text.words)

    def found_in(self, text: Text) -> bool:
        return self.applies(text) and self.search(text) is not None

    def search(self, text: Text) -> re.Match[str] | None:
        """Search without checking the triggers (the caller selected this rule by them)."""
        if self.needs and not any(char in text.original for char in self.needs):
            return None
        return self.pattern.search(text.original if self.on_original else text.lower)

    def finditer(self, text: Text) -> Iterator[re.Match[str]]:
        if self.needs and not any(char in text.original for char in self.needs):
            return iter(())
        return self.pattern.finditer(text.original if self.on_original else text.lower)


class Signal:
    """A vocabulary and rules: found in a text when any of them is."""

    __slots__ = ("_always", "_by_trigger", "_non_ascii", "_triggers", "lexicon")

    def __init__(self, lexicon: Lexicon, rules: Iterable[Rule] = ()) -> None:
        self.lexicon = lexicon
        rules = tuple(rules)
        self._always = tuple(rule for rule in rules if rule.when == ALWAYS)
        self._non_ascii = tuple(rule for rule in rules if rule.when == NON_ASCII)
        # Rules indexed by trigger word: a prompt's words select the few rules worth running.
        self._by_trigger: dict[str, list[Rule]] = {}
        for rule in rules:
            for word in rule.triggers:
                self._by_trigger.setdefault(word, []).append(rule)
        self._triggers = frozenset(self._by_trigger)

    def found_in(self, text: Text) -> bool:
        if self.lexicon.found_in(text):
            return True
        return any(rule.search(text) is not None for rule in self._candidates(text))

    def matches(self, text: Text) -> Iterator[re.Match[str] | None]:
        """Each match of a rule, and None for a vocabulary hit (which has no position)."""
        if self.lexicon.found_in(text):
            yield None
        for rule in self._candidates(text):
            yield from rule.finditer(text)

    def _candidates(self, text: Text) -> Iterable[Rule]:
        triggered = self._triggers.intersection(text.words)
        if not triggered and text.is_ascii:
            return self._always
        candidates = dict.fromkeys(self._always)
        if not text.is_ascii:
            candidates.update(dict.fromkeys(self._non_ascii))
        for word in triggered:
            candidates.update(dict.fromkeys(self._by_trigger[word]))
        return candidates
