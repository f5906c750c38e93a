"""The order lines leave in: SMS answers, then the protocol, then command answers by target."""

from __future__ import annotations

import asyncio

import pytest

from highlightd.irc.delivery import DeliveryRefused
from highlightd.irc.lanes import Priority
from highlightd.irc.network import Network
from highlightd.irc.sendqueue import COMMAND_BACKLOG
from scripted_irc import Events, ScriptedIrc, scripted_network
from waiting import eventually

pytestmark = pytest.mark.timeout(60)


def _network(server: ScriptedIrc) -> Network:
    return Network(scripted_network(server, send_burst=20, send_rate=50), Events())


async def test_an_sms_answer_goes_before_the_protocol_and_commands_take_turns() -> None:
    async with ScriptedIrc() as server:
        network = _network(server)
        # Queued while disconnected: all of it waits for the link, and leaves in order.
        for target, n in [("ann", 1), ("ann", 2), ("ann", 3), ("ben", 1), ("cid", 1)]:
            network.send(target, f"{target}{n}", "NOTICE", Priority.COMMAND)
        answer = network.send("bob", "the answer")
        task = asyncio.create_task(network.run())
        try:
            await asyncio.wait_for(answer, 10)
            await eventually(
                lambda: server.received,
                lambda got: sum(line.command == "NOTICE" for line in got) == 5,
                what="the five command answers",
            )
        finally:
            await network.quit()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    written = [
        line.text if line.command != "JOIN" else "JOIN"
        for line in server.received
        if line.command in ("PRIVMSG", "NOTICE", "JOIN")
    ]
    assert written == ["the answer", "JOIN", "ann1", "ben1", "cid1", "ann2", "ann3"]


async def test_command_answers_past_the_backlog_are_dropped_not_queued() -> None:
    async with ScriptedIrc() as server:
        network = _network(server)  # never connected: everything waits
        sends = [
            network.send("ann", f"answer {i}", "NOTICE", Priority.COMMAND)
            for i in range(COMMAND_BACKLOG + 50)
        ]
        answer = network.send("bob", "the answer")
        await asyncio.sleep(0)
        refused = [s for s in sends if s.done() and isinstance(s.exception(), DeliveryRefused)]
        assert len(refused) == 50
        assert not answer.done()  # SMS answers are never dropped for room
        assert network.backlog == COMMAND_BACKLOG + 1
