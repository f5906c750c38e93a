"""UNREGISTER: ending a registration takes its owner's consent (core.identity).

The registration's services account says so at once; otherwise a code goes to the
registered phone, and `UNREGISTER <code>` on IRC ends it. An admin ends any
registration with `highlightd users remove`.
"""

from __future__ import annotations

import logging

from highlightd.core.identity import consent_by_account
from highlightd.core.ircnames import nick_key
from highlightd.core.phones import mask_phone
from highlightd.selfservice.context import Context
from highlightd.selfservice.registration import CODE_TTL, Ask, Words, send_code, take_code

log = logging.getLogger(__name__)

ENDING = Words(
    what="unregistration",
    command="UNREGISTER",
    asking="UNREGISTER",
    use="answer UNREGISTER <code> with",
)
PURPOSE = "end "  # an ending's code is hashed apart: VERIFY cannot use it, nor it VERIFY's


async def unregister(ctx: Context, code: str | None) -> list[str]:
    """UNREGISTER [code]: end the asker's registration, with its owner's consent."""
    user, asker = ctx.user, ctx.irc
    if code is None and not consent_by_account(user.account, asker.account, asker.fold):
        ask = Ask(
            user.phone,
            user.phone,
            PURPOSE,
            f"highlightd: {asker.nick} on {asker.network} asks to end the highlights to this "
            f"phone. Only if you agree: /msg {asker.own_nick} UNREGISTER {{code}}",
            f"I texted a code to {mask_phone(user.phone)}, the registered phone: "
            f"UNREGISTER <code> within {CODE_TTL / 60:.0f} minutes ends {user.nick}'s "
            "registration.",
        )
        return await send_code(ctx, ask, ENDING)
    if code is not None:
        taken = await take_code(ctx, code, PURPOSE, ENDING)
        if isinstance(taken, list):
            return taken
    await ctx.store.privacy.unregister(user.network, nick_key(user.nick))
    log.info("%s/%s unregistered", user.network, user.nick)
    return [f"{user.nick} is unregistered; no more SMS"]
