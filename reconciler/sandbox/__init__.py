"""A local CloudTrail Lake for demos and tests, built on moto's server.

Nothing in the core imports this package. `server.start_sandbox` starts it in-process;
`commands.sandbox` is the `reconcile sandbox` click group. Importing this package itself is
free: moto and boto3 are imported only by the modules that need them.
"""
