"""Private messages to the bot are commands: answered one at a time, by NOTICE."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping

from highlightd.config import Settings
from highlightd.core.codes import CodeLimits, CodeRules
from highlightd.core.commands import asks_for_help
from highlightd.core.events import IrcMessage
from highlightd.core.ircnames import nick_key
from highlightd.core.records import User
from highlightd.core.smstext import strip_irc_formatting
from highlightd.infra.guard import guard
from highlightd.irc.bounded import Verdict, Windows
from highlightd.irc.directory import Directory
from highlightd.irc.lanes import Priority
from highlightd.irc.network import Network
from highlightd.selfservice.context import Asker
from highlightd.selfservice.dispatch import Desk, answer_irc
from highlightd.sms.gateway import SmsGateway
from highlightd.store import Store

log = logging.getLogger(__name__)

FAILED = "that did not work this time; try again in a minute"
POINTER = "{}: I take commands by private message: /msg {} HELP"
# Commands answered per sender (nick, per network) in a minute; more are dropped,
# and the first one dropped gets SLOW_DOWN.
COMMANDS_PER_MINUTE = 10
SLOW_DOWN = "slow down: I answer {} commands a minute; the rest of this minute's are ignored"


class SelfService:
    """Answers private messages to the bot, one at a time, by NOTICE."""

    def __init__(
        self,
        store: Store,
        directory: Directory,
        gateway: SmsGateway,
        networks: Mapping[str, Network],
        settings: Settings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._desk = Desk(
            store,
            gateway,
            CodeRules(
                CodeLimits(total=settings.policy.daily_codes),
                settings.code_regions(),
                settings.policy.timezone,
            ),
        )
        self._store = store
        self._directory = directory
        self._networks = networks
        self._region = settings.defaults.region
        self._clock = clock
        self._queue: asyncio.Queue[IrcMessage] = asyncio.Queue()
        self._answered = Windows(COMMANDS_PER_MINUTE)

    def submit(self, message: IrcMessage) -> None:
        self._queue.put_nowait(message)

    def use_settings(self, settings: Settings) -> None:
        """Reloaded settings (SIGHUP): [defaults] apply from the next command."""
        self._region = settings.defaults.region

    def heard(self, message: IrcMessage) -> None:
        """A channel line: "<bot>: help" there gets one line pointing to private messages."""
        network = self._networks.get(message.network)
        if network is not None and asks_for_help(message.text, network.own_nick, network.fold):
            self._queue.put_nowait(message)

    async def run(self) -> None:
        while True:
            message = await self._queue.get()
            network = self._networks.get(message.network)
            if network is None or not self._may_answer(network, message):
                continue
            if message.channel:
                # Commands answer with the sender's settings: never in a channel.
                pointer = POINTER.format(message.sender, network.own_nick)
                network.send(message.channel, pointer, priority=Priority.COMMAND)
                continue
            answer = [FAILED]  # what the sender hears when the command itself fails
            async with guard(log, "command from %s on %s", message.sender, network.name):
                answer = await self.handle(network, message)
            for line in answer:
                network.send(message.sender, line, "NOTICE", Priority.COMMAND)

    def _may_answer(self, network: Network, message: IrcMessage) -> bool:
        """Within the sender's commands a minute; the first one past it hears SLOW_DOWN."""
        verdict = self._answered.take((network.name, network.fold(message.sender)))
        if verdict is Verdict.REFUSED_FIRST:
            log.info("%s: %s sends too many commands; ignoring more", network.name, message.sender)
            slow = SLOW_DOWN.format(COMMANDS_PER_MINUTE)
            network.send(message.sender, slow, "NOTICE", Priority.COMMAND)
        return verdict is Verdict.ALLOWED

    async def handle(self, network: Network, message: IrcMessage) -> list[str]:
        """The answer to one private message, as NOTICE lines."""
        index = self._directory.network(network.name, network.casemapping)
        asker = Asker(
            network=network.name,
            nick=message.sender,
            account=message.account,
            own_nick=network.own_nick,
            require_account=network.settings.require_account,
            fold=network.fold,
            host=message.host,
            channels=tuple(network.settings.channels),
            holds_anothers=index.held_by_other(message.sender),
        )
        answer = await answer_irc(
            self._desk,
            asker,
            # Some clients send bold or colour; commands are plain words.
            strip_irc_formatting(message.text),
            self._clock(),
            find_user=lambda: self._user(network, message.sender),
            region=self._region,
            chantypes=network.chantypes,
        )
        await self._directory.refresh()  # cheap when the command changed nothing
        return answer

    async def _user(self, network: Network, nick: str) -> User | None:
        """The registration nick acts for by the nick rules (core.identity): followed
        across NICK changes, else by nick unless its holder is known to be someone else."""
        index = self._directory.network(network.name, network.casemapping)
        uid = index.owner(nick)
        if uid is not None and (user := self._directory.user(uid)) is not None:
            return user
        if index.held_by_other(nick):
            return None
        return await self._store.users.get(network.name, nick_key(nick))
