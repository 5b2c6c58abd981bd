"""MQTT topic layout and Home Assistant discovery payloads. Pure: no I/O.

Topics (``P`` is ``SIRENA_MQTT_TOPIC_PREFIX``, ``H`` is ``SIRENA_MQTT_HA_PREFIX``):

- ``P/status``: ``online`` / ``offline`` (retained; ``offline`` is the connection's will).
- ``P/regions/{id}/state``: the region's state, retained: ``{"state", "kind", "level", "threats", "since",
  "alerts"}``.
- ``P/events``: every event, as the stream's ``{"seq", "type", "alert"}`` (not retained).
- ``H/binary_sensor/{node}/region_{id}/config``: one discovery config per region listed in
  ``SIRENA_MQTT_HA_REGIONS`` (retained), a binary sensor that is on while the region is under alert.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sirena import __version__, messages
from sirena.domain.model import Alert
from sirena.domain.state import Coverage, RegionState
from sirena.protocol.alert_json import format_time
from sirena.regions import Region


def status_topic(prefix: str) -> str:
    return f"{prefix}/status"


def events_topic(prefix: str) -> str:
    return f"{prefix}/events"


def state_topic(prefix: str, region_id: str) -> str:
    return f"{prefix}/regions/{region_id}/state"


def node_id(prefix: str) -> str:
    """A discovery node id from the topic prefix (Home Assistant allows ``[a-zA-Z0-9_-]``)."""
    return re.sub(r"[^a-zA-Z0-9_-]", "_", prefix) or "sirena"


def discovery_topic(ha_prefix: str, prefix: str, region_id: str) -> str:
    return f"{ha_prefix}/binary_sensor/{node_id(prefix)}/region_{node_id(region_id)}/config"


def region_state(state: RegionState | None, alerts: Mapping[str, Alert]) -> dict[str, Any]:
    """The retained state payload of one region (``state`` is ``None`` for a calm region)."""
    if state is None or state.state is Coverage.CALM:
        return {"state": "calm", "kind": None, "level": None, "threats": [], "since": None, "alerts": []}
    kinds = [alerts[a].kind.value for a in state.alert_ids if a in alerts]
    return {
        "state": state.state.value,
        "kind": kinds[0] if kinds else None,
        "level": state.level.value if state.level else None,
        "threats": sorted(t.value for t in state.threats),
        "since": format_time(state.since),
        "alerts": list(state.alert_ids),
    }


def discovery_config(region: Region, prefix: str, lang: str) -> dict[str, Any]:
    """A binary sensor for one region: on while it is under alert; the state payload as its attributes."""
    node = node_id(prefix)
    topic = state_topic(prefix, region.id)
    return {
        "name": messages.t("delivery.mqtt.sensor_name", lang, region=region.name(lang)),
        "unique_id": f"{node}_region_{node_id(region.id)}",
        "state_topic": topic,
        "value_template": "{{ 'ON' if value_json.state == 'alert' else 'OFF' }}",
        "payload_on": "ON",
        "payload_off": "OFF",
        "json_attributes_topic": topic,
        "device_class": "safety",
        "availability_topic": status_topic(prefix),
        "payload_available": "online",
        "payload_not_available": "offline",
        "qos": 1,
        "device": {
            "identifiers": [node],
            "name": messages.t("delivery.mqtt.device_name", lang),
            "manufacturer": "Sirena",
            "model": messages.t("delivery.mqtt.device_model", lang),
            "sw_version": __version__,
        },
        "origin": {"name": "Sirena", "sw_version": __version__},
    }
