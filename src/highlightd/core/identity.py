"""Who a registration is on IRC: the one place the identity rules live. Pure.

An account is what the network says about a nick: a services account name,
"" when it says the nick is not logged in, or None when the network does not
report accounts at all (then a registration belongs to the nick alone).

The rules (the README's "Who your highlights reach" says the same):

- A client *is* a registration when, where the network reports accounts and the
  registration is bound to one, it is logged in to that account; otherwise when
  it holds the registered nick, or a nick the registration is followed to, and
  is not known to be someone else (it renamed into that nick from another
  registration's nick).
- A registration is followed to a new nick only if that client was the
  registration, and the new nick is not another user's registered nick or alias.
  A rename into another user's registered nick ends the follow, and that nick's
  holder is then known not to be its registration.
- Presence (in the channel, spoke recently, /away) counts only for the client
  that is the registration; a highlight of a registered nick goes to its
  registration whoever holds the nick.
- Moving a registration to another phone, or ending it, takes the consent of the
  registered phone, or the registration's services account, or an admin.
"""

from __future__ import annotations

from collections.abc import Callable


def same_account(a: str, b: str, fold: Callable[[str], str] = str.lower) -> bool:
    return fold(a) == fold(b)


def is_registration(
    bound_to: str | None,
    account: str | None,
    *,
    by_nick: bool,
    fold: Callable[[str], str] = str.lower,
) -> bool:
    """Whether a client is the registration bound to bound_to.

    account is what the network says of the client now; by_nick whether it holds the
    registration's nick (registered or followed) and is not known to be someone else.
    """
    if bound_to and account is not None:
        return bool(account) and same_account(account, bound_to, fold)
    return by_nick


def may_follow(
    bound_to: str | None,
    account: str | None,
    *,
    was_registration: bool,
    new_taken: bool,
    fold: Callable[[str], str] = str.lower,
) -> bool:
    """Whether a registration follows its client's NICK change.

    was_registration: the client was the registration under its old nick (nick rules);
    new_taken: the new nick is another user's registered nick or alias.
    """
    if new_taken or not was_registration:
        return False
    return is_registration(bound_to, account, by_nick=True, fold=fold)


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
    if not same_account(current, bound_to, fold):
        return f"this registration belongs to the account {bound_to}, not {current}"
    return None


def consent_by_account(
    bound_to: str | None, current: str | None, fold: Callable[[str], str]
) -> bool:
    """Whether the sender's services account alone may move or end a registration."""
    return bool(bound_to and current and same_account(current, bound_to, fold))


def account_to_bind(current: str | None) -> str | None:
    """The account a new registration is bound to: the sender's, when there is one."""
    return current or None
