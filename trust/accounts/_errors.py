"""The errors of user accounts: one branch, one code per thing an operator or a UI acts on.

The codes reach the CLI's one-line message and the UI's error box; a refused login
says only "wrong user name or password" whatever the reason (no user, wrong password,
disabled), so that a guesser learns nothing; a throttled login says when to retry.
"""

from __future__ import annotations

from trust.errors import TrustError


class AccountError(TrustError):
    code = "trust.accounts.error"


class AccountInvalid(AccountError):
    """Bad input: an unknown role, a user name or password that breaks the rules."""

    code = "trust.accounts.invalid"


class AccountExists(AccountError):
    code = "trust.accounts.exists"


class AccountUnknown(AccountError):
    code = "trust.accounts.unknown"


class LoginRefused(AccountError):
    code = "trust.accounts.login_refused"


class LoginThrottled(AccountError):
    """Too many failed logins for this user or from this address; ``retry_after`` is in seconds."""

    code = "trust.accounts.throttled"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
