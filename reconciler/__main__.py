"""`python -m reconciler` behaves exactly like the `reconcile` command."""

from reconciler.cli import run

if __name__ == "__main__":
    run()
