"""Preflight: what the store, the bucket and the role say about an import before it starts,
and what it will cost (issue 12; DESIGN.md, "Preflight").

`layout` finds the log files an import would select while listing only the prefixes its range
covers, `checks` turns what AWS answered (the values in `reconciler.ports`) into findings
(pure), `estimate` prices the files, and `gather` asks AWS through the `PreflightReader` port
and puts it together per entry. The planner adds the result to its actions
(`plan/preflighted.py`).
"""
