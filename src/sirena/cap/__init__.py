"""Sirena and CAP: alerts written as CAP 1.2, CAP messages applied to alerts, chains, and external feeds.

The wire formats themselves are pure and live in :mod:`sirena.protocol.cap`; this package maps them onto
Sirena's alerts and regions, keeps the record of ingested messages, and pulls configured feeds. See
``docs/cap.md``.
"""
