"""report.json's schema (pydantic models; docs/report.md documents each
field) and loading a saved report, checked against it."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, Field

from ..errors import InputError

SCHEMA_VERSION = 1


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Result(_Open):
    rtt_ms: Optional[float]
    pop: Optional[str]


class IPAResult(_Open):
    shares: dict[str, float]
    rtt_ms: Optional[float]


class ClientEntry(_Open):
    global_: Result = Field(alias="global")
    providers: dict[str, Result]
    wan: dict[str, float]
    ipa: IPAResult
    oracle: Result
    optimal: Result
    floor_rtt_ms: float


class SummaryEntry(_Open):
    median_rtt_ms: Optional[float]
    p90_rtt_ms: Optional[float]
    p99_rtt_ms: Optional[float]
    mean_rtt_ms: Optional[float]
    suboptimal_share: Optional[float]


class Summary(_Open):
    global_: SummaryEntry = Field(alias="global")
    ipa: SummaryEntry
    oracle: SummaryEntry
    optimal: SummaryEntry
    floor: SummaryEntry


class Phase(_Open):
    name: str
    clients: dict[str, ClientEntry]
    summary: Summary


class SchemeEventSummary(_Open):
    affected_clients: int
    clients_losing: int
    lost: dict[str, Any]
    loss_window_s: dict[str, Any]
    stable_s: dict[str, Any]


class TimelineEvent(_Open):
    t_s: float
    label: str
    kind: str
    phase: str
    span_s: float
    summary: dict[str, SchemeEventSummary]
    clients: dict[str, dict[str, Any]]
    bgp: dict[str, Any]


class TimelineSection(_Open):
    t0: float
    window_s: float
    interval_s: float
    phases: list[dict[str, Any]]
    events: list[TimelineEvent]
    series: dict[str, Any]
    shares: dict[str, list[dict[str, Any]]]
    plot_clients: list[str]


class HealthBin(_Open):
    t_s: float
    packets: int
    p99_ms: float
    max_ms: float
    kernel_drops: int
    late: bool


class Health(_Open):
    """Did the link engine keep time while the run measured (analysis/health.py)."""
    measured: bool
    engine: str
    late_seconds: int
    scheduling: Optional[str] = None
    seconds: Optional[int] = None
    late_at_s: list[float] = []
    worst_p99_ms: Optional[float] = None
    bins: list[HealthBin] = []


class Report(_Open):
    schema_version: int
    scenario: str
    topology: str
    topology_file: str
    link_backend: str
    created: str
    providers: list[str]
    pops: list[str]
    steering: dict[str, float]
    schemes: list[str]
    phases: list[Phase] = Field(min_length=1)
    timeline: Optional[TimelineSection] = None
    health: Optional[Health] = None  # absent in reports written before the health record


def validate(data: dict[str, Any]) -> Report:
    return Report.model_validate(data)


def load_report(ref: str) -> dict[str, Any]:
    p = Path(ref)
    if p.is_dir():
        p = p / "report.json"
    if not p.is_file():
        raise InputError("no report.json there", file=p,
                         fix="give a run folder written by 'anycastlab scenario' or its report.json")
    try:
        data = json.loads(p.read_text())
        validate(data)
    except (ValueError, OSError) as exc:
        raise InputError(f"not a valid anycastlab report: {str(exc)[:300]}", file=p,
                         fix="regenerate it with 'anycastlab scenario'") from None
    data["_path"] = str(p)
    return data
