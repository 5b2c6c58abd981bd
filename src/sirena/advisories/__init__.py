"""Advisories, channels, situation reports, the all-clear and the coordination line (``docs/advisories.md``).

- :mod:`~sirena.advisories.channels`: channels, the audiences advisories are published to.
- :mod:`~sirena.advisories.advisories`: advisories (closure, shelter readiness, travel, pre-alert, all-clear,
  info), public or for one channel.
- :mod:`~sirena.advisories.reports`: situation reports on active alerts and their statistics.
- :mod:`~sirena.advisories.allclear`: the all-clear an alert's end can send.
- :mod:`~sirena.advisories.coordination`: the private line between issuers, receipts and escalation.
- :mod:`~sirena.advisories.cap`: all of them as CAP 1.2, and CAP ``Ack`` read back.
- :mod:`~sirena.advisories.system`: the running set (``runtime.advisories``) and its background task.

Every change is a notice (:class:`sirena.domain.notice.Notice`) in the one event log.
"""

from sirena.advisories.model import AdvisoryType, ReportKind, Severity

__all__ = ["AdvisoryType", "ReportKind", "Severity"]
