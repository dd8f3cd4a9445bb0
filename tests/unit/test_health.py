"""Emulation health without a lab: the engine's lateness bookkeeping (the
Python engine's; the native one keeps the same histogram), the flagging of
late seconds, and the report saying so at its top."""
from __future__ import annotations

import json

from conftest import DATA

from anycastlab.agents.schedule import Lateness, Line, Scheduler
from anycastlab.analysis import health
from anycastlab.model.samples import HEALTH_FIELDS


class Pkt:
    def __init__(self) -> None:
        self.verdict = None

    def accept(self) -> None:
        self.verdict = "accept"

    def drop(self) -> None:
        self.verdict = "drop"


def test_lateness_quantiles_by_hand() -> None:
    late = Lateness(start=100.0)
    for us in [0] * 50 + [10] * 49 + [5000]:  # 100 releases: p50 0 us, p99 10 us, max 5 ms
        late.note(us / 1e6)
    assert late.tick(100.5, 1000.5) is None  # not a second yet
    row = late.tick(101.0, 2001.0)
    assert dict(zip(Lateness.FIELDS, row)) == {"t_s": 2000.0, "packets": 100, "late_p50_us": 0,
                                               "late_p99_us": 10, "late_max_us": 5000,
                                               "kernel_drops": 0, "held_max": 0, "stall_max_us": 0}
    assert Lateness.FIELDS == HEALTH_FIELDS
    assert late.packets == 0 and late.start == 101.0  # the next second starts empty


def test_coarse_buckets_above_two_ms() -> None:
    late = Lateness(0.0)
    for _ in range(10):
        late.note(0.2503)  # 250.3 ms: 1 ms buckets up there
    assert late.quantile(0.99) == 250_000 and late.late_max == 250_300


def test_scheduler_notes_lateness_of_each_release() -> None:
    s, line, late = Scheduler(), Line("k", 10.0), Lateness(0.0)
    pkts = [Pkt() for _ in range(3)]
    for i, p in enumerate(pkts):
        s.offer(line, p, now=1.0 + i * 0.001)      # due at 1.010, 1.011, 1.012
    assert s.release_due(1.0115, now=1.0125, late=late) == 2  # released 2.5 and 1.5 ms late
    assert [p.verdict for p in pkts] == ["accept", "accept", None]
    assert late.packets == 2 and late.late_max == 2500
    s.release_due(1.012, now=1.011, late=late)      # early (lead): counts as on time
    assert late.packets == 3 and late.quantile(0.5) == 1500


def rows(*p99_us: int, drops: tuple[int, ...] = (), stalls: tuple[int, ...] = ()) -> list[dict]:
    return [{"t_s": 1000.0 + i, "packets": 100, "late_p50_us": 5, "late_p99_us": v,
             "late_max_us": v * 2, "kernel_drops": drops[i] if i < len(drops) else 0, "held_max": 3,
             "stall_max_us": stalls[i] if i < len(stalls) else 0}
            for i, v in enumerate(p99_us)]


def test_late_seconds_are_flagged_by_p99_and_by_kernel_drops() -> None:
    h = health.summarize(rows(20, 1500, 30, 900, drops=(0, 0, 0, 4)), 1000.0, 1004.0, t0=1002.0,
                         engine="native", scheduling="SCHED_FIFO")
    assert h["seconds"] == 4 and h["late_seconds"] == 2
    assert h["late_at_s"] == [-1.0, 1.0]  # on the event clock: t0 is 1002
    assert h["worst_p99_ms"] == 1.5 and h["kernel_drops"] == 4
    assert "LATE in 2 s" in health.headline(h)


def test_a_stall_flags_its_second_even_with_nothing_held() -> None:
    h = health.summarize(rows(20, 20, 20, stalls=(0, 200_000, 900)), 1000.0, 1003.0, engine="native",
                         scheduling="SCHED_FIFO")
    assert h["late_at_s"] == [1001.0] and h["worst_stall_ms"] == 200.0
    late = Lateness(0.0)
    late.stall(0.2)
    assert late.tick(1.0, 1.0)[-1] == 200_000


def test_rows_of_worker_threads_merge_into_one_second() -> None:
    a, b = rows(20, 30), rows(900, 2000, drops=(0, 3))
    h = health.summarize(a + b, 1000.0, 1002.0, engine="native", scheduling="SCHED_FIFO")
    assert h["seconds"] == 2 and h["packets"] == 400 and h["kernel_drops"] == 3
    assert [x["p99_ms"] for x in h["bins"]] == [0.9, 2.0] and h["late_at_s"] == [1001.0]


def test_a_quiet_run_kept_time() -> None:
    h = health.summarize(rows(20, 30, 40), 1000.0, 1003.0, engine="native", scheduling="SCHED_FIFO")
    assert h["late_seconds"] == 0 and "kept time in every second" in health.headline(h)
    assert "not measured" in health.headline(health.unmeasured("kernel (netem)"))


def test_seconds_outside_the_run_do_not_count() -> None:
    h = health.summarize(rows(5000, 20, 20, 5000), 1001.0, 1003.0, engine="python", scheduling="x")
    assert h["seconds"] == 2 and h["late_seconds"] == 0


def test_report_opens_with_the_warning_when_late(tiny, tmp_path) -> None:
    from anycastlab.report import write as report
    from anycastlab.report.schema import SCHEMA_VERSION

    data = json.loads((DATA / "report-a.json").read_text())
    data["schema_version"] = SCHEMA_VERSION
    data["health"] = health.summarize(rows(20, 4000), 1000.0, 1002.0, engine="native",
                                      scheduling="SCHED_FIFO")
    paths = report.write(tmp_path, data, tiny)
    md = paths["md"].read_text().splitlines()
    assert md[2].startswith("**Warning: the emulator could not keep time in 1 of 2 seconds**")
    assert 'class="late"' in paths["html"].read_text()
    data["health"] = health.summarize(rows(20, 40), 1000.0, 1002.0, engine="native",
                                      scheduling="SCHED_FIFO")
    md = report.write(tmp_path, data, tiny)["md"].read_text()
    assert "Warning" not in md and "kept time in every second" in md
