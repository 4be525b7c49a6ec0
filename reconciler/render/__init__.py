"""Renderers: walk a Plan and word it; never decide anything (DESIGN.md, "Layers").

No click or rich here: colour is plain ANSI, added only when the caller asks for it. Every
renderer returns text without a trailing newline (like `json.dumps`), ready for `click.echo`.
"""

from __future__ import annotations

from reconciler.render.json_doc import plan_schema, render_json, render_json_document
from reconciler.render.markdown import GITHUB_COMMENT_LIMIT, render_markdown
from reconciler.render.text import render_text

__all__ = [
    "GITHUB_COMMENT_LIMIT",
    "plan_schema",
    "render_json",
    "render_json_document",
    "render_markdown",
    "render_text",
]
