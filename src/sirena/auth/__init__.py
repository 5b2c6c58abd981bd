"""Accounts, tokens, roles and scopes, the two-person rule and the tamper-evident audit log.

- :mod:`~sirena.auth.tokens`: API tokens, shown once and stored hashed, with expiry and revocation.
- :mod:`~sirena.auth.accounts`: users, Argon2id passwords, login with lockout, browser sessions and CSRF.
- :mod:`~sirena.auth.principal` and :mod:`~sirena.auth.policy`: roles, region scopes, channel grants, and
  which changes need a second person.
- :mod:`~sirena.auth.approvals`: requests waiting for that second person.
- :mod:`~sirena.auth.audit`: the hash-chained audit log and its verification.
- :mod:`~sirena.auth.ratelimit`: token buckets for writes and logins.
"""

from sirena.auth.principal import Principal, Role
from sirena.auth.tokens import authenticate, bearer, create, create_for, generate_token, hash_token, principal_for

__all__ = [
    "Principal",
    "Role",
    "authenticate",
    "bearer",
    "create",
    "create_for",
    "generate_token",
    "hash_token",
    "principal_for",
]
