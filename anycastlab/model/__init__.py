"""Pure data: topology, address plan, scenario, events, settings, schemes,
sample files. No I/O beyond reading the user's YAML and the run's CSVs.

May import: ``anycastlab.errors`` and ``model`` itself. Nothing else of the package.
"""
