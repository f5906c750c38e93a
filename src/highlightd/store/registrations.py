"""What self-service keeps: keywords, muted channels, pending registrations, codes sent."""

from __future__ import annotations

from highlightd.core.codes import CodeCounts
from highlightd.core.records import Keyword, Pending
from highlightd.store.database import Database


class Registrations:
    """Keywords, mutes, and registrations waiting for their code."""

    def __init__(self, db: Database) -> None:
        self._db = db.conn
        self._database = db

    async def keywords(self, user_id: int | None = None) -> list[Keyword]:
        sql = "SELECT user_id, word, exception FROM keywords"
        args: tuple[int, ...] = ()
        if user_id is not None:
            sql += " WHERE user_id = ?"
            args = (user_id,)
        async with self._db.execute(sql + " ORDER BY exception, word_key", args) as cur:
            return [Keyword(int(u), str(w), bool(e)) async for u, w, e in cur]

    async def add_keyword(self, user_id: int, word: str, word_key: str, exception: bool) -> bool:
        async with self._db.execute(
            "INSERT INTO keywords (user_id, word_key, word, exception) VALUES (?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (user_id, word_key, word, int(exception)),
        ) as cur:
            self._database.changes += 1
            return cur.rowcount > 0

    async def remove_keyword(self, user_id: int, word_key: str, exception: bool) -> bool:
        async with self._db.execute(
            "DELETE FROM keywords WHERE user_id = ? AND word_key = ? AND exception = ?",
            (user_id, word_key, int(exception)),
        ) as cur:
            self._database.changes += 1
            return cur.rowcount > 0

    async def mute(self, user_id: int, channel_key: str, muted: bool) -> bool:
        if muted:
            sql = "INSERT INTO muted (user_id, channel_key) VALUES (?, ?) ON CONFLICT DO NOTHING"
        else:
            sql = "DELETE FROM muted WHERE user_id = ? AND channel_key = ?"
        async with self._db.execute(sql, (user_id, channel_key)) as cur:
            self._database.changes += 1
            return cur.rowcount > 0

    async def muted(self) -> dict[int, frozenset[str]]:
        """Each user's muted channels (folded names)."""
        out: dict[int, set[str]] = {}
        async with self._db.execute("SELECT user_id, channel_key FROM muted") as cur:
            async for user_id, channel in cur:
                out.setdefault(int(user_id), set()).add(str(channel))
        return {k: frozenset(v) for k, v in out.items()}

    async def put_pending(
        self,
        pending: Pending,
        nick_key: str,
        at: float,
        *,
        account: str | None = None,
        host: str | None = None,
        to_phone: str | None = None,
    ) -> int:
        """Keep a registration waiting for its code, and count the code against its asker
        (nick, account and host as known) and the phone it goes to (to_phone: the
        registered phone asked for its consent; else the pending one); the id names the
        code for code_sent."""
        await self._db.execute(
            "INSERT OR REPLACE INTO pending (network, nick_key, nick, phone, code_hash, account,"
            " expires, tries) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                pending.network,
                nick_key,
                pending.nick,
                pending.phone,
                pending.code_hash,
                pending.account,
                pending.expires,
                pending.tries,
            ),
        )
        async with self._db.execute(
            "INSERT INTO codes_sent (network, nick_key, phone, at, account, host)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (pending.network, nick_key, to_phone or pending.phone, at, account, host),
        ) as cur:
            return int(cur.lastrowid or 0)

    async def code_sent(self, code_id: int, sid: str) -> None:
        """Name the SMS that carried a code: the highlights' budget leaves it out."""
        await self._db.execute("UPDATE codes_sent SET sid = ? WHERE rowid = ?", (sid, code_id))

    async def pending(self, network: str, nick_key: str) -> Pending | None:
        async with self._db.execute(
            "SELECT network, nick, phone, code_hash, account, expires, tries FROM pending"
            " WHERE network = ? AND nick_key = ?",
            (network, nick_key),
        ) as cur:
            row = await cur.fetchone()
        return Pending(*row) if row else None

    async def count_try(self, network: str, nick_key: str) -> None:
        await self._db.execute(
            "UPDATE pending SET tries = tries + 1 WHERE network = ? AND nick_key = ?",
            (network, nick_key),
        )

    async def drop_pending(self, network: str, nick_key: str) -> None:
        await self._db.execute(
            "DELETE FROM pending WHERE network = ? AND nick_key = ?", (network, nick_key)
        )

    async def code_counts(
        self,
        since: float,
        phone: str,
        network: str,
        nick_key: str,
        account: str | None,
        host: str | None,
    ) -> CodeCounts:
        """Codes sent since a moment, counted every way the code limits need, at once."""
        mine = "network = :net AND (nick_key = :nick OR account = :account OR host = :host)"
        async with self._db.execute(
            "SELECT count(*), coalesce(sum(phone = :phone), 0),"
            f" coalesce(sum(phone = :phone AND {mine}), 0),"
            " coalesce(sum(network = :net AND nick_key = :nick), 0),"
            " coalesce(sum(network = :net AND account = :account), 0),"
            " coalesce(sum(network = :net AND host = :host), 0)"
            " FROM codes_sent WHERE at >= :since",
            # NULL never equals anything: an unknown account or host counts nothing.
            {
                "since": since,
                "phone": phone,
                "net": network,
                "nick": nick_key,
                "account": account,
                "host": host,
            },
        ) as cur:
            row = await cur.fetchone()
        return CodeCounts(*(int(n) for n in row)) if row else CodeCounts()
