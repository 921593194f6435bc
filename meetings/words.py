"""Word clouds: how an open-text answer is counted. Pure functions, no database.

- `tidy`: what the person typed, with surrounding punctuation and extra spaces gone ("  Équité ! " -> "Équité");
- `key`: what entries are counted by: tidied, case-folded, accents removed ("Équité", "equite", "équité !" ->
  "equite"). An entry of several words is one expression, counted whole ("vivre ensemble");
- `is_stop_word`: French and English words that say nothing on their own ("le", "the", "et"...); an expression is
  dropped only when every word of it is one ("de la"), so "la mer" stays;
- `cloud`: the visible words with their counts, each shown in its most frequent spelling, most frequent first;
- `respondents`: how many people have at least one visible word (hidden words and stop-words not counted).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

_SPACES = re.compile(r"\s+")
# Apostrophes and hyphens join the words of an expression; anything else between words splits them for the
# stop-word test only.
_TOKENS = re.compile(r"[^\W_]+", re.UNICODE)

_FRENCH = """
a à afin ai aie aient aies ait alors as au aucun aucune aupres auquel aussi autre autres aux auxquels avec avoir
avons ayant c ça car ce ceci cela celle celles celui ces cet cette ceux chaque chez ci comme comment d dans de des
donc dont du elle elles en encore est et etaient etais etait etant ete etes etre eu eux fait faut il ils j je jusqu l
la le les leur leurs lui m ma mais me meme memes mes moi mon n ne ni non nos notre nous on ont ou où par parce pas
peu peut plus pour pourquoi qu quand que quel quelle quelles quels qui quoi s sa sans se ses si sien soi soit son
sont sous suis sur t ta te tes toi ton tous tout toute toutes tres tu un une unes uns vers voici voila vos votre
vous y
"""
_ENGLISH = """
a about above after again against all am an and any are as at be because been before being below between both but
by can could did do does doing down during each few for from further had has have having he her here hers herself
him himself his how i if in into is it its itself just me more most my myself no nor not now of off on once only or
other our ours ourselves out over own same she should so some such than that the their theirs them themselves then
there these they this those through to too under until up very was we were what when where which while who whom why
will with would you your yours yourself yourselves
"""


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


STOP_WORDS = frozenset(_fold(word) for word in (_FRENCH + _ENGLISH).split())


def _is_edge(char: str) -> bool:
    """Trimmed from both ends: punctuation, symbols, spaces (but not letters, digits or emoji)."""
    category = unicodedata.category(char)
    return category[0] in ("P", "Z", "C") or category in ("Sm", "Sk", "Sc")


def tidy(text: str) -> str:
    text = _SPACES.sub(" ", text or "")
    start, end = 0, len(text)
    while start < end and _is_edge(text[start]):
        start += 1
    while end > start and _is_edge(text[end - 1]):
        end -= 1
    return text[start:end]


def key(text: str) -> str:
    return _fold(tidy(text))


def word_count(text: str) -> int:
    return len(_TOKENS.findall(tidy(text)))


def is_stop_word(normalised: str, extra=frozenset()) -> bool:
    """True when every word of the (already normalised) expression is a stop-word, or it is in `extra` whole."""
    if normalised in extra:
        return True
    tokens = _TOKENS.findall(normalised)
    return bool(tokens) and all(token in STOP_WORDS or token in extra for token in tokens)


@dataclass(frozen=True)
class Word:
    key: str
    text: str
    count: int
    size: int  # 1 (least frequent shown) .. 6 (most frequent)


def _resolve(merges: dict[str, str], word: str) -> str:
    seen = {word}
    while word in merges and merges[word] not in seen:  # a cycle of merges stops where it would loop
        word = merges[word]
        seen.add(word)
    return word


def _counted_as(entry_key: str, merges: dict[str, str], stop) -> str | None:
    """The word an entry counts as (after merges), or None when it is a stop-word and not counted."""
    final = _resolve(merges, entry_key)
    return None if is_stop_word(final, stop) else final


def tally(entries, *, merges=None, stop=frozenset(), hidden=frozenset()) -> tuple[list[Word], dict[str, int]]:
    """(visible words, most frequent first; {hidden key: count}) from `entries` = [(key, text)]."""
    merges = merges or {}
    counts: Counter[str] = Counter()
    spellings: dict[str, Counter[str]] = {}
    for entry_key, text in entries:
        final = _counted_as(entry_key, merges, stop)
        if final is None:
            continue
        counts[final] += 1
        # A merged word is shown as the word it was merged into (its own spellings, when it has entries).
        spellings.setdefault(final, Counter())[text] += 1 if entry_key == final else 0
    visible, hidden_counts = [], {}
    for word, count in counts.items():
        if word in hidden:
            hidden_counts[word] = count
            continue
        # The most frequent spelling; on a tie, the first one typed (Counter keeps insertion order).
        text = spellings[word].most_common(1)[0][0]  # entries merged in only: the first of their spellings
        visible.append((word, text, count))
    visible.sort(key=lambda w: (-w[2], w[1].casefold()))
    return visible, hidden_counts


def cloud(entries, *, limit: int, merges=None, stop=frozenset(), hidden=frozenset()) -> tuple[list[Word], dict]:
    visible, hidden_counts = tally(entries, merges=merges, stop=stop, hidden=hidden)
    visible = visible[:limit]
    if not visible:
        return [], hidden_counts
    top, low = visible[0][2], visible[-1][2]
    span = max(1, top - low)
    return [Word(key=k, text=t, count=c, size=1 + round(5 * (c - low) / span) if top > low else 4)
            for k, t, c in visible], hidden_counts


def respondents(entries, *, merges=None, stop=frozenset(), hidden=frozenset()) -> int:
    """How many people have at least one visible entry (counted by `tally` as a visible word), from
    `entries` = [(person, key)]: someone whose every word is hidden or a stop-word is not counted."""
    merges = merges or {}
    return len({person for person, entry_key in entries
                if (final := _counted_as(entry_key, merges, stop)) is not None and final not in hidden})
