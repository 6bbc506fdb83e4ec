"""Help pages in sections: a command's options grouped by what they are for, defaults in one style."""

from __future__ import annotations

import re

import click

#: A trailing bracket of a help text: the settings schema's ``[default]`` or click's ``[1<=x<=100]``.
_BRACKET = re.compile(r"\s*\[([^\[\]]*)\]\s*$")
#: What click itself writes in brackets: a range, "required", "env var: ...", "default: ...".
_CLICK_EXTRA = re.compile(r"^(default: |env var: |required$|[-\d.]+<=?x|x<=?|x>=?|[-\d.]+<x)")


def one_bracket(text: str) -> str:
    """The trailing brackets of a help text as one, the default first and named:
    ``"JPEG quality. [95]  [1<=x<=100]"`` -> ``"JPEG quality.  [default: 95; 1<=x<=100]"``."""
    items = []
    while (m := _BRACKET.search(text)) is not None and m.group(1):
        items[:0] = m.group(1).split("; ")
        text = text[:m.start()]
    if not items:
        return text
    named = [i if _CLICK_EXTRA.match(i) else f"default: {i}" for i in items]
    named.sort(key=lambda i: not i.startswith("default: "))
    return f"{text}  [{'; '.join(named)}]"


class SectionedCommand(click.Command):
    """A command whose ``--help`` lists its options under headings. ``sections``: (heading, parameter
    names) in order; options in none of them are listed last, under "Other options"."""

    def __init__(self, *args, sections: tuple[tuple[str, tuple[str, ...]], ...] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.sections = sections

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = {}
        for param in self.get_params(ctx):
            row = param.get_help_record(ctx) if isinstance(param, click.Option) else None
            if row is not None:
                rows["help" if "--help" in param.opts else param.name] = (row[0], one_bracket(row[1]))
        for heading, names in self.sections:
            found = [rows.pop(n) for n in names if n in rows]
            if found:
                with formatter.section(heading):
                    formatter.write_dl(found)
        if rows:
            with formatter.section("Other options"):
                formatter.write_dl(list(rows.values()))
