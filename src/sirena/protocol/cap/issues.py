"""The findings of one ingest run, collected as they are made, and the codes they may carry."""

from __future__ import annotations

from collections import Counter
from typing import Final, Literal, get_args

from sirena import messages
from sirena.protocol.cap.model import Issue

#: Every issue code; each has a catalogue entry ``cap.issue.<code>`` in English and Ukrainian.
IssueCode = Literal[
    "encoding_mismatch",
    "encoding_suspect",
    "declaration_not_first",
    "schema",
    "schema_unavailable",
    "feed_escaped_content",
    "edxl_content_not_read",
    "required_missing",
    "value_empty",
    "enum_unknown",
    "enum_case",
    "namespace_missing",
    "references_missing",
    "reference_malformed",
    "reference_identifier_only",
    "identifier_characters",
    "timestamp_invalid",
    "timestamp_no_offset",
    "timestamp_assumed_utc",
    "timestamp_format",
    "number_invalid",
    "ceiling_without_altitude",
    "json_single_value",
    "json_type",
    "polygon_empty_dropped",
    "polygon_unparsable",
    "polygon_too_few_points",
    "polygon_closed",
    "polygon_out_of_range",
    "polygon_swapped",
    "polygon_crosses_antimeridian",
    "coordinate_stray_comma",
    "coordinate_separators",
    "circle_malformed",
    "circle_out_of_range",
    "circle_swapped",
    "signature_invalid",
    "signature_untrusted",
    "signature_whitespace",
    "signature_certificate_expired",
    "signature_certificate_not_valid_when_sent",
    "signature_extra_invalid",
    "issues_not_listed",
]

#: At most this many issues of one code are listed; the rest are counted (``issues_not_listed``), so that a small
#: document cannot make a report many times its own size.
MAX_PER_CODE: Final = 100


def issue_codes() -> tuple[str, ...]:
    return get_args(IssueCode)


def make_issue(code: IssueCode, path: str | None = None, line: int | None = None, **params: object) -> Issue:
    values = tuple((k, str(v)) for k, v in params.items())
    text = messages.t(f"cap.issue.{code}", "en", **dict(values))
    return Issue(code=code, message=text, path=path, line=line, params=values)


class IssueLog:
    """Errors, warnings and repairs of one run (a fresh log per call; never shared)."""

    def __init__(self) -> None:
        self.errors: list[Issue] = []
        self.warnings: list[Issue] = []
        self.repairs: list[Issue] = []
        self._seen: Counter[str] = Counter()

    def _add(
        self, issues: list[Issue], code: IssueCode, path: str | None, line: int | None, params: dict[str, object]
    ) -> None:
        self._seen[code] += 1
        if self._seen[code] <= MAX_PER_CODE:
            issues.append(make_issue(code, path, line, **params))

    def error(self, code: IssueCode, path: str | None = None, line: int | None = None, **params: object) -> None:
        self._add(self.errors, code, path, line, params)

    def warning(self, code: IssueCode, path: str | None = None, line: int | None = None, **params: object) -> None:
        self._add(self.warnings, code, path, line, params)

    def repair(self, code: IssueCode, path: str | None = None, line: int | None = None, **params: object) -> None:
        self._add(self.repairs, code, path, line, params)

    def close(self) -> None:
        """Say how many issues of each code were not listed; call once, when the run is over."""
        for code, seen in sorted(self._seen.items()):
            if seen > MAX_PER_CODE:
                self.warnings.append(make_issue("issues_not_listed", kind=code, count=seen - MAX_PER_CODE))
