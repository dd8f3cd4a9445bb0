"""The report's sentences that several parts print: how the summary is
weighted, what the WAN and load tables mean, the run's faults, health and
link variability. report.md, report.html and the command line share them."""
from __future__ import annotations

from typing import Any

from ..analysis.health import headline
from ..analysis.load import headline as load_headline
from ..analysis.requests import WEIGHTING


def summary_note(phase: dict[str, Any]) -> str:
    """How the summary is weighted, in one sentence, and what its columns mean."""
    over_requests = any(v.get("requests") for v in phase["summary"].values())
    rtts = (" RTTs are simulated, not measured: the one-way link latencies summed along the computed "
            "request and reply paths (IPA: each provider by its share)" if phase.get("simulated") else
            " RTTs are UDP probes to the PoP responders (IPA: to the addresses DNS answered; IPA model: "
            "each provider by its share)")
    return ((WEIGHTING if over_requests else "Percentiles are over client networks (a report written "
             "before requests were weighted).") + rtts +
            "; *traffic off optimal PoP* is the share of requests reaching a "
            "PoP other than their network's lowest-RTT unicast PoP; *median network* is the median over "
            "client networks of each network's median RTT; *inflation* is a network's RTT minus its "
            "optimal RTT.")


WAN_NOTE = ("Nominal: the median of all of the network's provider probes; wins: the share of a "
            "provider's probes faster than nominal (a lost probe never wins); share: the traffic the "
            "steering gives it (docs/analysis.md); ms: its median RTT.")


LOAD_NOTE = ("Each steering window the CDN's demand is laid on the routed paths (IPA by each "
             "network's shares, the rest through the global prefix) and each link direction queues "
             "as an M/M/1/K queue at its utilisation (docs/topology.md). The busiest 15 directions "
             "over the windows in effect while the run measured; *IPA part*: the share of their "
             "load that IPA steered.")


def load_line(data: dict[str, Any]) -> str:
    """One line on the load model (analysis/load.py)."""
    return load_headline((data.get("load") or {}).get("summary"))


def fault_lines(data: dict[str, Any]) -> list[str]:
    """What went wrong in the run, at the top of the report: a daemon that
    died (lab/watch.py), routed paths the load model never found."""
    out = []
    faults = data.get("faults") or []
    if faults:
        what = "; ".join(f"{f['name']} on {f.get('node') or 'the root namespace'} (pid {f['pid']}) at "
                         f"t = {f['t_s']:.1f} s" for f in faults)
        out += [f"**A daemon died during the run**: {what}. Results after that describe a lab that "
                "lost it, not the internet.", ""]
    for e in (data.get("load") or {}).get("errors") or []:
        out += [f"**The load model is incomplete**: {e}", ""]
    return out


SIMULATED = ("**Simulated, not measured**: catchments and RTTs computed from the topology by the "
             "route model (`anycastlab simulate`, docs/simulation.md): propagation delay only, no "
             "queueing, variability, loss, load or DNS.")


def variability_line(data: dict[str, Any]) -> str:
    """How the links varied in this run (docs/topology.md, Variability)."""
    if data.get("simulated"):
        return SIMULATED
    v = data.get("variability") or {}
    if not v.get("lines"):
        return "Links: constant delays, no loss." if v.get("applied", True) else \
            "Links: constant delays (variability switched off)."
    return f"Links: queueing delay and loss on {v['lines']} link directions, seed {v['seed']}."


def health_lines(h: Any) -> list[str]:
    """The top of the report: a warning first when the emulator was late,
    then the one-line health record (analysis/health.py)."""
    out = []
    if h and h.get("late_seconds"):
        at = ", ".join(f"{x:g}" for x in h["late_at_s"][:20]) + (" ..." if h["late_seconds"] > 20 else "")
        out += [f"**Warning: the emulator could not keep time in {h['late_seconds']} of {h['seconds']} "
                f"seconds** (release lateness p99 or an engine stall above {h['threshold_ms']:g} ms, or "
                f"packets dropped by the kernel; worst p99 {h['worst_p99_ms']:.1f} ms, worst stall "
                f"{h.get('worst_stall_ms') or 0:.1f} ms). RTT and loss in those seconds "
                f"describe this machine, not the emulated internet. Seconds: {at}.", ""]
    return out + [headline(h) + ".", ""]
