"""The schemes a report compares, in one registry: key, labels, colour and
where each appears. Analysis, report tables, plots, compare and scenario
files all read this list, so adding a scheme is one entry here (plus the
analysis that computes it).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class Scheme:
    key: str
    label: str            # report summary rows
    short: str            # narrow tables (command line)
    colour: str
    plot_label: str       # RTT CDF legend
    time_label: str       # RTT-over-time legend
    family: str           # the scenario-file name that selects it ('ipa_model' goes with 'ipa')
    measured: bool = True     # False: computed from geography (floor)
    per_round: bool = True    # has a per-probe-round series through a timeline
    compared: bool = True     # 'anycastlab compare' reports its change
    model: bool = False       # the share model beside the measured IPA
    events: bool = False      # per-event metrics (loss window, recovery) through a timeline


SCHEMES: tuple[Scheme, ...] = (
    Scheme("global", "global anycast (G)", "global", "#d62728", "global anycast (G)",
           "global anycast (G)", "global", events=True),
    Scheme("ipa", "IPA", "IPA", "#1f77b4", "IPA (share-weighted)", "IPA (DNS answers)", "ipa", events=True),
    Scheme("ipa_model", "IPA share model", "IPA model", "#17becf", "IPA share model",
           "IPA share model", "ipa", per_round=False, compared=False, model=True, events=True),
    Scheme("all_in", "all-in (top WAN provider, cap 1)", "all-in", "#e377c2", "all-in: top WAN provider",
           "all-in: top WAN provider", "ipa", per_round=False, compared=False, model=True),
    Scheme("oracle", "oracle (best provider)", "oracle", "#2ca02c", "oracle: best provider",
           "oracle: best provider", "oracle"),
    Scheme("optimal", "optimal (best unicast PoP)", "optimal", "#9467bd", "optimal unicast PoP",
           "optimal unicast PoP", "optimal"),
    Scheme("floor", "physical floor", "floor", "#7f7f7f", "physical floor", "physical floor",
           "floor", measured=False, per_round=False, compared=False),
)
BY_KEY = {s.key: s for s in SCHEMES}
KEYS = tuple(s.key for s in SCHEMES)
SELECTABLE = tuple(dict.fromkeys(s.family for s in SCHEMES))  # what a scenario's 'schemes:' may list
PER_ROUND = tuple(s.key for s in SCHEMES if s.per_round)      # timeline series per probe round
COMPARED = tuple(s.key for s in SCHEMES if s.compared)
EVENTS = tuple(s.key for s in SCHEMES if s.events)         # schemes an event can disrupt
MEASURED = tuple(s.key for s in SCHEMES if s.measured)


def get(key: str) -> Scheme:
    return BY_KEY[key]


def selected(keys: list[str], chosen: Optional[list[str]]) -> list[str]:
    """Those of ``keys`` whose family the user chose (all if ``chosen`` is None)."""
    return [k for k in keys if chosen is None or BY_KEY[k].family in chosen]
