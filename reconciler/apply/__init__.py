"""Apply: carrying out a plan safely (DESIGN.md, "Apply safety (Pinned)").

`run` is the `reconcile apply` core function (lock, plan, confirm), `runner` walks the plan
queue by queue, `relist` is the last look before each StartImport, `records` how each step
changes a state record, `types` the options, events and result.
"""
