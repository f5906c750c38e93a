"""A webhook's 200 means its answer is on disk: SIGKILLed right after, it is still said.

Twilio stops retrying an SMS once it got our 200, so an answer acknowledged and then
lost with the process would be lost for good. The group commit (store/writer.py)
answers only once the transaction holding the row is committed.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import aiohttp
import pytest

from answers import PREFIX, Tally, outbox_empty, sid_of
from fake_twilio import TEST_AUTH_TOKEN, twilio_signature
from harness import ALICE_PHONE, CHANNEL, FROM_NUMBER, wait_for_bot
from servers import IrcClientFactory, IrcServer, RedisServer
from test_answers_survive import _daemon, killable

pytestmark = pytest.mark.timeout(90)

POSTS = 40


async def _post_once(http: aiohttp.ClientSession, base_url: str, body: str) -> int:
    """One POST, as Twilio's first attempt: its status, or 0 when the daemon died first."""
    form = {"MessageSid": sid_of(body), "From": ALICE_PHONE, "To": FROM_NUMBER, "Body": body}
    url = base_url + "/twilio/sms"
    headers = {"X-Twilio-Signature": twilio_signature(TEST_AUTH_TOKEN, url, form)}
    try:
        async with http.post(url, data=form, headers=headers) as resp:
            await resp.read()
            return resp.status
    except aiohttp.ClientError:
        return 0


def _stored(db: Path, sids: list[str]) -> set[str]:
    conn = sqlite3.connect(db)
    try:
        marks = ",".join("?" * len(sids))
        rows = conn.execute(f"SELECT sid FROM received_sms WHERE sid IN ({marks})", sids)
        return {str(row[0]) for row in rows}
    finally:
        conn.close()


async def test_answers_acknowledged_right_before_a_sigkill_are_stored_and_said(
    tmp_path: Path,
    irc_server: IrcServer,
    redis_server: RedisServer,
    irc_client_factory: IrcClientFactory,
) -> None:
    stage = await killable(tmp_path, irc_server, redis_server, irc_client_factory)
    config, db, bob, base_url = stage.config, stage.db, stage.bob, stage.base_url
    texts = [f"{CHANNEL} kept {n:02d}" for n in range(POSTS)]
    async with aiohttp.ClientSession() as http:
        async with _daemon(config, tmp_path):
            await wait_for_bot(bob)
            posts = {text: asyncio.create_task(_post_once(http, base_url, text)) for text in texts}
            # SIGKILLed (on leaving the block) as soon as the first 200 is in.
            pending = set(posts.values())
            while not any(t.done() and t.result() == 200 for t in posts.values()):
                assert pending, "no answer was acknowledged"
                _done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        statuses = {text: await task for text, task in posts.items()}
    acknowledged = [text for text, status in statuses.items() if status == 200]
    assert acknowledged
    # On disk with the process gone, before anything reads the database again.
    assert _stored(db, [sid_of(t) for t in acknowledged]) == {sid_of(t) for t in acknowledged}
    tally = Tally(bob)
    async with aiohttp.ClientSession() as http, _daemon(config, tmp_path):
        await outbox_empty(db)
        await tally.settle(lambda body: _post_once(http, base_url, body))
    said = {line.removeprefix(PREFIX) for line in tally.seen}
    assert {t.removeprefix(f"{CHANNEL} ") for t in acknowledged} <= said
