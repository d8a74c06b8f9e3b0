"""SMS text macros: Odoo's inline template syntax ``{{ object.field }}`` (pure).

Dotted field paths (``{{ object.parent_id.name }}``) are rendered by the fast
path without evaluating code; any other expression is left to Odoo's inline
template engine by the caller (``Template.simple`` is false then).
"""

import re

from .exceptions import MacroError
from .i18n import lazy_translate

_lt = lazy_translate(__name__)

_MACRO = re.compile(r"\{\{(.*?)\}\}", re.S)
_PATH = re.compile(r"object(?:\.[A-Za-z_][A-Za-z0-9_]*)+")


class Template:
    """A parsed SMS text.

    >>> t = Template("Hi {{ object.name }}, see {{object.country_id.name}}!")
    >>> t.paths
    [('name',), ('country_id', 'name')]
    >>> values = {"name": "Ann", "country_id.name": "France"}
    >>> t.render(lambda path: values[".".join(path)])
    'Hi Ann, see France!'
    >>> Template("plain").is_static
    True
    """

    def __init__(self, text):
        self.text = text or ""
        self.pieces = []  # str literals and tuples (field path)
        self.macros = []  # (macro as written, path tuple or None)
        self.simple = True
        pos = 0
        for match in _MACRO.finditer(self.text):
            self.pieces.append(self.text[pos : match.start()])
            expr = match.group(1).strip()
            if _PATH.fullmatch(expr):
                path = tuple(expr.split(".")[1:])
                self.pieces.append(path)
                self.macros.append((match.group(0), path))
            else:
                self.simple = False
                self.macros.append((match.group(0), None))
                self.pieces.append(match.group(0))
            pos = match.end()
        self.pieces.append(self.text[pos:])
        if not self.text.count("{{") == len(self.macros):
            raise MacroError(
                "{{", _lt("A macro is not closed: write it as {{ object.field }}.")
            )

    @property
    def is_static(self):
        return not self.macros

    @property
    def paths(self):
        return [path for _macro, path in self.macros if path]

    def render(self, resolve):
        """Render with ``resolve(path) -> str`` for each dotted path."""
        return "".join(
            piece if isinstance(piece, str) else resolve(piece) for piece in self.pieces
        )


def format_value(value):
    """How a field value reads in an SMS.

    >>> format_value(False), format_value(None), format_value(3.0), format_value("x")
    ('', '', '3', 'x')
    """
    if value is False or value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def split_name(name, is_company=False):
    """``"Anna Maria Smith"`` -> ``("Anna", "Maria Smith")``.

    A company, or a name of one word, is all first name and no last name.

    >>> split_name("Anna Maria Smith")
    ('Anna', 'Maria Smith')
    >>> split_name("Acme Corp", is_company=True)
    ('Acme Corp', '')
    """
    words = (name or "").split()
    if is_company or len(words) < 2:
        return (name or "").strip(), ""
    return words[0], " ".join(words[1:])
