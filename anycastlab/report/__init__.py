"""The report: schema and loading, writers (JSON, Markdown, HTML), plots,
compare, index, re-analysis of saved runs.

May import: ``errors``, ``model``, ``analysis``. Never ``lab``, ``agents``,
``measure`` or ``config``: a report is re-made without a lab.
"""
