"""Pure: samples and logs in, results out (baseline, timeline, DNS chain,
BGP log). No lab, no daemon, no file it did not get.

May import: ``errors``, ``model``.
"""
