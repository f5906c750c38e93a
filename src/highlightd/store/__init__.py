"""SQLite storage: one connection, and a repository per kind of record."""

from __future__ import annotations

from pathlib import Path

from highlightd.core.index import UserIndex
from highlightd.store.database import Database, SchemaTooNew
from highlightd.store.held import HeldHighlights
from highlightd.store.outgoing import Outgoing
from highlightd.store.privacy import Privacy
from highlightd.store.registrations import Registrations
from highlightd.store.registry import Registry
from highlightd.store.relayed import Relayed
from highlightd.store.smslog import ReceivedLog, SentLog
from highlightd.store.users import UserExists, Users

__all__ = ["SchemaTooNew", "Store", "UserExists"]


class Store:
    """The one place that speaks SQL: `store.users`, `.sent`, `.outgoing`, `.received`,
    `.held`, `.registrations`, `.relayed`, `.privacy`, `.registry`, over one database."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self.users = Users(database)
        self.sent = SentLog(database)
        self.outgoing = Outgoing(database)
        self.received = ReceivedLog(database)
        self.held = HeldHighlights(database)
        self.registrations = Registrations(database)
        self.relayed = Relayed(database)
        self.privacy = Privacy(database, self.users)
        self.registry = Registry(database)

    @classmethod
    async def open(cls, path: Path) -> Store:
        return cls(await Database.open(path))

    async def close(self) -> None:
        await self._database.close()

    @property
    def changes(self) -> int:
        """How many writes this process made to users, keywords and mutes."""
        return self._database.changes

    async def user_index(self) -> UserIndex:
        """Registered users, their keywords and mutes, indexed for matching lines."""
        return (await self.registry.load())[0]

    async def data_version(self) -> int:
        """A number that changes whenever another connection (say, the CLI) commits."""
        return await self._database.data_version()
