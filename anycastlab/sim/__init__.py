"""Simulation: catchments, RTT and steering computed from the topology alone,
with no root, no lab and no daemon. Imports model, analysis and report only.

``routing.py`` is the router-level model with the rendered BIRD configs'
semantics (tiny, world, generated topologies); ``internet.py`` the AS-level
model for CAIDA-sized graphs; ``sweep.py`` what-if sweeps in parallel.
"""
