"""CAP exchange of one running system: the writer (alerts out), the gateway (CAP in) and the feed follower."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sirena.auth.audit import Recorder
from sirena.cap.areas import RegionAreas
from sirena.cap.config import CapConfig
from sirena.cap.gateway import CapGateway
from sirena.cap.pull import FeedPuller
from sirena.cap.writer import CapWriter
from sirena.service import AlertService, WriteContext
from sirena.settings import Settings
from sirena.store.base import WriteHook


def system_context(actor: str) -> Any:
    """Write contexts for changes no person makes (a followed feed): audited as ``actor``, never held back."""

    def make(action: str, details: Mapping[str, Any], hook: WriteHook) -> WriteContext:
        return Recorder(actor, action, details=details, also=hook)

    return make


class CapExchange:
    def __init__(self, settings: Settings, service: AlertService) -> None:
        self.config = CapConfig.from_settings(settings)
        self.areas = RegionAreas(service.registry)
        self.writer = CapWriter(self.config, service.store, self.areas)
        self.gateway = CapGateway(self.config, service, self.areas)
        self.puller = FeedPuller(self.config, self.gateway, system_context("cap:feed")) if self.config.feeds else None

    async def follow(self) -> None:
        """Follow the configured feeds until cancelled (started by ``Runtime.start()`` when there are any)."""
        if self.puller is not None:
            await self.puller.run()
