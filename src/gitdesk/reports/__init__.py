"""Reports and rendered views: jinja2 templates shipped with the package.

Every template, the packaged ones and a desk's own `.gitdesk/templates/*`, is
rendered in jinja2's immutable sandbox with autoescape on. A desk's template is
text anyone with commit access wrote, and it is rendered in every CI job that
makes a report: it may use the report's data, never Python's internals (no
`__class__`, `__globals__`, ...), so it cannot run code. A template that tries,
or that is broken, fails with an error naming its file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

from gitdesk.errors import GitdeskError

PACKAGED = "gitdesk/reports/templates"


def render_template(name: str, *, overrides: Mapping[str, tuple[str, str]] | None = None,
                    **context: Any) -> str:
    """Render template `name` with `context`; `overrides` maps a template name to the
    (path, source) of a desk's own version of it."""
    from jinja2 import ChoiceLoader, DictLoader, PackageLoader, TemplateError
    from jinja2.exceptions import SecurityError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class Sandbox(ImmutableSandboxedEnvironment):
        def unsafe_undefined(self, obj: Any, attribute: str) -> NoReturn:
            # the default is an undefined value that prints as "": refuse outright
            raise SecurityError(f"access to attribute {attribute!r} of a "
                                f"{type(obj).__name__!r} object is not allowed")

    given = dict(overrides or {})
    env = Sandbox(loader=ChoiceLoader([DictLoader({k: src for k, (_p, src) in given.items()}),
                                       PackageLoader("gitdesk.reports", "templates")]),
                  autoescape=True, trim_blocks=True, lstrip_blocks=True,
                  keep_trailing_newline=True)
    path = given[name][0] if name in given else f"{PACKAGED}/{name} (packaged)"
    hint = f"fix {path}, or remove it to use the packaged {name}" if name in given else None
    try:
        return env.get_template(name).render(**context)
    except SecurityError as exc:
        raise GitdeskError(f"{path}: refused: {exc}; a report template may use the report's "
                           "data, not Python's internals", hint=hint) from None
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = f":{line}" if line else ""
        raise GitdeskError(f"{path}{where}: {exc.message or type(exc).__name__}",
                           hint=hint) from None
    except Exception as exc:  # anything a template's expressions can raise
        raise GitdeskError(f"{path}: the template failed: {type(exc).__name__}: {exc}",
                           hint=hint) from None

