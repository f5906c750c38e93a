"""Throughput of Matcher.match with 10,000 registered nicks, against one regex per nick.

Run: .venv/bin/python benchmarks/bench_matcher.py
"""

from __future__ import annotations

import random
import re
import time

from highlightd.core.matcher import Matcher, irc_lower

NICKS = 10_000
LINES = 100_000
NAIVE_LINES = 300
SEED = 1459

SYLLABLES = [
    "al", "ben", "cat", "dan", "el", "fi", "gus", "han", "io", "jo", "ka", "lu", "mo",
    "ne", "ol", "pe", "qu", "ri", "sa", "to", "ur", "vi", "wen", "xa", "yu", "zo",
]  # fmt: skip
VOCABULARY = (
    "the a an and or but if then so to of in on at for with from by is are was were be "
    "been it this that these those i you he she we they me him her us them my your our "
    "their what which who when where why how all any both each few more most other some "
    "such no not only own same than too very can will just should now do does did have has "
    "had get got make made know think see look want give use find tell ask work seem feel "
    "try leave call build test deploy merge branch commit push pull review patch bug fix "
    "issue release server client kernel config log error warning crash restart update "
    "install package version python rust irc channel network nick message ping pong lol "
    "thanks please sorry yes yeah nope maybe today tomorrow yesterday morning night week"
).split()
PUNCTUATION = ["", "", "", "", ",", ".", "!", "?", ":", "...", ")"]


def make_nicks(rng: random.Random, count: int) -> list[str]:
    """Return count distinct nick-like words, none of them a vocabulary word."""
    vocabulary = set(VOCABULARY)
    nicks: set[str] = set()
    while len(nicks) < count:
        nick = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        decoration = rng.random()
        if decoration < 0.15:
            nick += str(rng.randint(0, 99))
        elif decoration < 0.25:
            nick += "_"
        elif decoration < 0.30:
            nick = f"[{nick}]"
        elif decoration < 0.40:
            nick = nick.capitalize()
        if irc_lower(nick) not in vocabulary:
            nicks.add(nick)
    return sorted(nicks)


def make_lines(rng: random.Random, count: int, nicks: list[str]) -> list[str]:
    """Return chat lines; about one in ten addresses or mentions a registered nick."""
    lines = []
    for _ in range(count):
        words = [
            rng.choice(VOCABULARY) + rng.choice(PUNCTUATION) for _ in range(rng.randint(3, 16))
        ]
        roll = rng.random()
        if roll < 0.05:
            words.insert(0, rng.choice(nicks) + ":")
        elif roll < 0.10:
            words.insert(rng.randrange(len(words) + 1), rng.choice(nicks).upper())
        elif roll < 0.13:
            words.append(
                "https://example.org/" + rng.choice(VOCABULARY) + "?q=" + rng.choice(nicks)
            )
        lines.append(" ".join(words))
    return lines


def bench_matcher(matcher: Matcher[int], lines: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    hits = 0
    for line in lines:
        hits += len(matcher.match(line))
    return time.perf_counter() - start, hits


# Same word characters as highlightd.core.matcher, spelt out for the lookarounds.
_WORD_CLASS = r"\w\[\]\\`^{|}\-" "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"


def bench_naive(nicks: list[str], lines: list[str]) -> tuple[float, float, int]:
    """Time building and running one compiled regex per nick; returns (build, run, hits)."""
    start = time.perf_counter()
    patterns = [
        (owner, re.compile(rf"(?<![{_WORD_CLASS}]){re.escape(irc_lower(nick))}(?![{_WORD_CLASS}])"))
        for owner, nick in enumerate(nicks)
    ]
    build = time.perf_counter() - start
    start = time.perf_counter()
    hits = 0
    for line in lines:
        folded = irc_lower(line)
        hits += sum(1 for _, pattern in patterns if pattern.search(folded))
    return build, time.perf_counter() - start, hits


def main() -> None:
    rng = random.Random(SEED)
    nicks = make_nicks(rng, NICKS)
    lines = make_lines(rng, LINES, nicks)

    start = time.perf_counter()
    matcher: Matcher[int] = Matcher()
    for owner, nick in enumerate(nicks):
        matcher.add(nick, owner)
    build = time.perf_counter() - start
    elapsed, hits = bench_matcher(matcher, lines)
    rate = LINES / elapsed
    print(f"Matcher: {NICKS:,} nicks indexed in {build * 1000:.1f} ms")
    print(
        f"Matcher: {LINES:,} lines in {elapsed:.3f} s = {rate:,.0f} lines/s "
        f"({elapsed / LINES * 1e6:.2f} us/line), {hits:,} highlights"
    )

    sample = lines[:NAIVE_LINES]
    naive_build, naive_elapsed, naive_hits = bench_naive(nicks, sample)
    naive_rate = NAIVE_LINES / naive_elapsed
    _, sample_hits = bench_matcher(matcher, sample)
    print(f"Naive:   {NICKS:,} regexes compiled in {naive_build:.2f} s")
    print(
        f"Naive:   {NAIVE_LINES:,} lines in {naive_elapsed:.3f} s = {naive_rate:,.0f} lines/s "
        f"(extrapolated: {LINES / naive_rate:,.0f} s for {LINES:,} lines), "
        f"{naive_hits} highlights (Matcher: {sample_hits} on the same lines)"
    )
    print(f"Ratio:   Matcher is {rate / naive_rate:,.0f}x faster per line")


if __name__ == "__main__":
    main()
