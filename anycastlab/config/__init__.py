"""Text for the daemons: BIRD, ExaBGP and PowerDNS renderers and their
templates, each checked by its daemon's own parser. No root needed.

May import: ``errors``, ``model``.
"""
