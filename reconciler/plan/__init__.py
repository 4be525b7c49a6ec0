"""Planning: what the world looks like and what to do about it, as pure data.

`types` is the Plan and its actions (the pinned JSON), `desired` what the planner is asked,
`observed`/`observe` what AWS reports (read through the ports), `planner` the pure diff with
its rules in `facts`, `queues`, `overlaps` and `failures`, `make` the `reconcile plan` core
function, and `saved`/`saved_checks` plan files.
"""
