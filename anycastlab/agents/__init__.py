"""Programs started inside the lab's namespaces: link engine (shaper),
responder, probe workers, probe stream, stub resolver.

May import: ``errors``, ``model``, and each other. Never ``lab``,
``measure``, ``analysis``, ``report`` or ``cli``: they run alone in a node.
"""
