"""Manifests: the YAML a user commits, loaded and checked into `ImportSpec`s.

`load` reads files (positions for every error), `models` is the pydantic source of truth
(and of `reconcile schema`), `checks` compares entries with each other, `yamlsource` keeps
the node tree positions, `problems`/`pydantic_errors` word what is wrong.
"""
