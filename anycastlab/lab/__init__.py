"""The only code that touches the kernel: the Lab lifecycle, one service
module per daemon kind (BIRD, PoPs, DNS, link engine), the run record and the
clients of the daemons' control sockets.

May import: ``errors``, ``model``, ``config``. Agents are started as
programs (``python -m anycastlab.agents.X``), never imported.
"""
