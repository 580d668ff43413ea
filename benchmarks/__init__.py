"""Throughput of loadbay against the database's own bulk path (issue #4).

Run it with ``.venv/bin/python -m benchmarks.run --help``. The modules, in the order
the run uses them: ``generate`` (deterministic input files), ``databases`` (fresh
databases), ``harness`` (the measured work: loadbay's pipeline, loadbay imports and the
raw bulk path), ``worker`` (one measurement in a fresh process, with its peak RSS),
``bulk_latency`` (bulk requests to a real server, (f)), ``report`` (targets, table,
JSON) and ``run`` (the command line).
"""
