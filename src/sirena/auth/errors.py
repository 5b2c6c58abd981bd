"""Errors of accounts, authorisation and approvals (rendered as problem+json like every Sirena error)."""

from __future__ import annotations

from sirena.errors import Conflict, Forbidden, NotFound, RateLimited, Unauthorized


class ScopeMissing(Forbidden):
    """The caller's role or scope does not allow the action; ``missing_scope`` says what was missing
    (``role:operator``, ``region:27``, ``channel:embassy-pl``)."""

    slug = "scope-missing"
    key = "error.scope_missing"


class SelfApproval(Forbidden):
    slug = "self-approval"
    key = "error.self_approval"


class CsrfFailed(Forbidden):
    slug = "csrf-failed"
    key = "error.csrf_failed"


class LoginFailed(Unauthorized):
    slug = "login-failed"
    key = "error.login_failed"


class AccountLocked(RateLimited):
    slug = "account-locked"
    key = "error.account_locked"


class UserNotFound(NotFound):
    slug = "user-not-found"
    key = "error.user_not_found"


class ApprovalNotFound(NotFound):
    slug = "approval-not-found"
    key = "error.approval_not_found"


class ApprovalClosed(Conflict):
    """The approval request was already decided, or it expired."""

    slug = "approval-closed"
    key = "error.approval_closed"
