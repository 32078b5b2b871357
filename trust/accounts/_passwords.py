"""Password hashing of UI users: argon2id through argon2-cffi, and the rules a password must meet.

argon2id is what OWASP recommends for stored passwords: memory-hard, so a stolen
database costs an attacker memory as well as time per guess. argon2-cffi's defaults
(RFC 9106's "low memory" profile) are kept; a hash made with older parameters is
re-made at the next successful login (:meth:`Passwords.verify` says so). A user name
that does not exist is checked against a dummy hash so that the time a login takes
does not tell whether the name exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ._errors import AccountInvalid

MIN_LENGTH = 12   # NIST SP 800-63B allows 8; an admin console warrants more
MAX_LENGTH = 1024  # bounds the hashing work one request can ask for


def password_problem(password: str) -> str | None:
    """Why ``password`` cannot be used, in one line; ``None`` if it can."""
    if len(password) < MIN_LENGTH:
        return f"a password needs at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"a password has at most {MAX_LENGTH} characters"
    if password.strip() != password:
        return "a password may not start or end with a space (it is easily lost when pasted)"
    return None


@dataclass(frozen=True)
class Check:
    """The outcome of a password check: right or not, and whether the stored hash should be re-made."""

    ok: bool
    rehash: bool = False


class Passwords:
    """Hash and verify passwords; one instance per store (the hasher holds only parameters)."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        """``hasher`` is the seam for tests that want cheap parameters."""
        self._hasher = hasher or PasswordHasher()
        self._dummy = self._hasher.hash("sild dummy password for unknown users")

    def hash(self, password: str) -> str:
        """The stored form of ``password``; :class:`AccountInvalid` if it breaks the rules."""
        problem = password_problem(password)
        if problem:
            raise AccountInvalid(problem)
        return self._hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> Check:
        """Whether ``password`` matches ``stored`` (``None``: no such user, checked against a dummy anyway)."""
        if len(password) > MAX_LENGTH:
            return Check(False)
        try:
            self._hasher.verify(stored or self._dummy, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return Check(False)
        if stored is None:
            return Check(False)
        return Check(True, self._hasher.check_needs_rehash(stored))
