"""Reports and rendered views: jinja2 templates shipped with the package."""

from __future__ import annotations

from typing import Any


def render_template(name: str, **context: Any) -> str:
    """Render a packaged template (HTML is autoescaped: ticket text is untrusted)."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("gitdesk.reports", "templates"),
                      autoescape=select_autoescape(("html", "htm", "j2")),
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    return env.get_template(name).render(**context)
