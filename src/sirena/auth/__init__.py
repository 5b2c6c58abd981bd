"""Accounts, tokens and the checks that guard every write."""

from sirena.auth.tokens import authenticate, bearer, create, generate_token, hash_token

__all__ = ["authenticate", "bearer", "create", "generate_token", "hash_token"]
