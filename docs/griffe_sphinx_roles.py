"""Griffe extension: render the Sphinx roles of grl's docstrings for mkdocstrings.

grl's docstrings are Google style but cross-reference with Sphinx roles
(``:func:`gradient_reversal```, ``:class:`~grl.torch.GradientReversal```), which Markdown
would show verbatim. Each role becomes inline code wrapped in an *optional* autoref: a link
when the target is documented on the site, plain code otherwise, so an undocumented
target never breaks ``mkdocs build --strict``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import griffe

ROLE = re.compile(
    r":(?:py:)?(?:mod|func|class|meth|attr|data|obj|exc):`(?P<tilde>~?)(?P<name>[^`]+)`"
)


def walk(obj: griffe.Object) -> Iterator[griffe.Object]:
    """``obj`` and every object defined inside it (aliases are visited where defined)."""
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from walk(member)


def resolve(name: str, obj: griffe.Object) -> str:
    """The full path of ``name`` as seen from ``obj``'s scope (as written if not found)."""
    if name.startswith("grl."):
        return name
    head = name.split(".", 1)[0]
    scope: griffe.Object | None = obj
    while scope is not None:
        if head in scope.members:
            return f"{scope.path}.{name}"
        scope = scope.parent
    return name


def render(match: re.Match[str], obj: griffe.Object) -> str:
    name = match["name"]
    title = name.rsplit(".", 1)[-1] if match["tilde"] else name
    return f'<autoref identifier="{resolve(name, obj)}" optional><code>{title}</code></autoref>'


class SphinxRoles(griffe.Extension):
    """Rewrite every docstring of a loaded package once it is fully loaded."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        for obj in walk(pkg):
            if obj.docstring is not None:
                docstring = obj.docstring
                docstring.value = ROLE.sub(lambda m, o=obj: render(m, o), docstring.value)
