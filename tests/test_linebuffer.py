"""Cutting the server's bytes into lines: however TCP splits them, the same lines come out."""

from __future__ import annotations

import pytest

from highlightd.irc.linebuffer import LineBuffer, LineOverflow

CASES = {
    "crlf": ([b"PING :a\r\nPING :b\r\n"], [b"PING :a", b"PING :b"]),
    "bare-lf": ([b"PING :a\nPING :b\n"], [b"PING :a", b"PING :b"]),
    "split-anywhere": ([b"PI", b"NG :a\r", b"\nPING", b" :b\r\n"], [b"PING :a", b"PING :b"]),
    "blank-lines-skipped": ([b"\r\n\r\n  \r\nPING :a\r\n"], [b"PING :a"]),
    "partial-kept-for-later": ([b"PING :a\r\nPING :b"], [b"PING :a"]),
    "too-long-dropped": ([b"x" * 11 + b"\r\nPING :a\r\n"], [b"PING :a"]),
    "longest-kept": ([b"x" * 10 + b"\r\n"], [b"x" * 10]),
}


@pytest.mark.parametrize(("chunks", "lines"), CASES.values(), ids=CASES.keys())
def test_lines_come_out_whole(chunks: list[bytes], lines: list[bytes]) -> None:
    buffer = LineBuffer(max_line=10, limit=20)
    assert [line for chunk in chunks for line in buffer.feed(chunk)] == lines


@pytest.mark.parametrize(
    "chunks",
    [[b"x" * 21], [b"x" * 15, b"x" * 6], [b"x" * 21 + b"\r\nPING :a\r\n"]],
    ids=["one-read", "two-reads", "ended-in-the-same-read"],
)
def test_a_runaway_line_overflows_however_it_arrives(chunks: list[bytes]) -> None:
    buffer = LineBuffer(max_line=10, limit=20)
    with pytest.raises(LineOverflow):
        for chunk in chunks:
            buffer.feed(chunk)
