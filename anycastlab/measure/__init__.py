"""Drives a running lab: probe rounds, the probe stream's handle, the
steering loop, timelines, catchment, explain, a scenario end to end.

May import: ``errors``, ``model``, ``config``, ``lab``, ``analysis``, ``report``.
"""
