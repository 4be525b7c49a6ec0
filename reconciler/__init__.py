"""reconcile: declarative, GitOps-friendly management of CloudTrail Lake imports."""

__version__ = "0.1.0"
