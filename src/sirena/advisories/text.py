"""Texts of notices, from the message catalogue: the all-clear, report headlines, one-line descriptions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sirena import messages
from sirena.domain.model import Kind, Status
from sirena.domain.notice import Notice
from sirena.protocol.alert_json import format_time
from sirena.regions import RegionRegistry


def region_names(registry: RegionRegistry, ids: Sequence[str], lang: str, shown: int = 3) -> str:
    names = [registry.get(r).name(lang) if r in registry else r for r in ids[:shown]]
    text = ", ".join(names)
    return text + (f" +{len(ids) - shown}" if len(ids) > shown else "")


def marked(texts: Mapping[str, str], status: Status) -> dict[str, str]:
    """Texts prefixed with EXERCISE/НАВЧАННЯ or TEST/ТЕСТ when not actual (as alert headlines are)."""
    if status is Status.ACTUAL:
        return dict(texts)
    marks = messages.all_languages(f"alert.status.{status.value}")
    out: dict[str, str] = {}
    for lang, text in texts.items():
        mark = marks.get(lang) or marks["en"]
        out[lang] = text if text.startswith(mark) else f"{mark}: {text}"
    return out


def all_clear_texts(
    registry: RegionRegistry, kind: Kind, regions: Sequence[str], status: Status, given: Mapping[str, str] | None
) -> tuple[dict[str, str], dict[str, str]]:
    """The headline and text of an all-clear: the prepared ones in every catalogue language, with ``given`` text
    (any languages) replacing the prepared text where it is given."""
    headline = {
        lang: messages.t("advisories.all_clear.headline", lang, kind=messages.t(f"alert.kind.{kind.value}", lang))
        for lang in messages.LANGUAGES
    }
    text = {
        lang: messages.t("advisories.all_clear.text", lang, regions=region_names(registry, regions, lang, shown=5))
        for lang in messages.LANGUAGES
    }
    for lang, value in (given or {}).items():
        if value.strip():
            text[lang] = value.strip()
            headline.setdefault(lang, headline["en"])
    return marked(headline, status), text


def report_headline(report: Mapping[str, Any], registry: RegionRegistry, lang: str) -> str:
    """``drones: 5, heading for Kyiv`` and the like, in ``lang``."""
    threat = messages.t(f"alert.threat.{report.get('threat')}", lang)
    threat = threat[:1].upper() + threat[1:]
    region = region_names(registry, [str(report.get("region"))], lang)
    values: dict[str, Any] = {"threat": threat, "count": report.get("count"), "region": region}
    kind = report.get("kind")
    if kind == "movement":
        if report.get("target_region"):
            values["target"] = region_names(registry, [str(report["target_region"])], lang)
            key = "advisories.report.movement_target"
        elif report.get("heading_deg") is not None:
            values["heading"] = round(float(report["heading_deg"]))
            key = "advisories.report.movement_heading"
        else:
            key = "advisories.report.movement"
    else:
        key = f"advisories.report.{kind}"
    return messages.t(key, lang, **values)


def notice_line(notice: Notice, registry: RegionRegistry, lang: str) -> str:
    """One readable line for ``sirena tail``."""
    body = notice.body
    what = messages.t(f"advisories.event.{notice.type.value}", lang)
    if notice.type.family == "report":
        summary = report_headline(body, registry, lang)
    else:
        headline = body.get("headline") or {}
        summary = str(headline.get(lang) or headline.get("en") or next(iter(headline.values()), ""))
        regions = list(body.get("regions") or ())
        if regions:
            summary = f"{summary} · {region_names(registry, regions, lang)}"
        if body.get("channel"):
            summary = f"[{body['channel']}] {summary}"
    return f"{format_time(notice.at)}  #{notice.seq:<6} {what:<10} {summary}"
