"""Who may act for a registration: the nick, and where the network tells us, its account. Pure.

An account is what the network says about a nick: a services account name,
"" when it says the nick is not logged in, or None when the network does not
report accounts at all (then a registration belongs to the nick alone).
"""

from __future__ import annotations

from collections.abc import Callable


def refusal(
    *,
    registering: bool,
    bound_to: str | None,
    current: str | None,
    require_account: bool,
    fold: Callable[[str], str] = str.lower,
) -> str | None:
    """Why this sender may not run the command, or None when they may.

    bound_to is the account of the registration concerned (None if it has none,
    or for a first REGISTER); current is what the network says of the sender now.
    """
    if registering and require_account and not current:
        if current is None:
            return "this network requires a services account, and does not tell me yours"
        return "this network requires you to be logged in to services (NickServ) to register"
    if bound_to is None:
        return None
    if current is None:
        return f"this registration belongs to the account {bound_to}, and I cannot see accounts now"
    if current == "":
        return f"this registration belongs to the account {bound_to}; log in to it first"
    if fold(current) != fold(bound_to):
        return f"this registration belongs to the account {bound_to}, not {current}"
    return None


def account_to_bind(current: str | None) -> str | None:
    """The account a new registration is bound to: the sender's, when there is one."""
    return current or None
