"""XML checks for Odoo 18 addons: well-formed files and the 18.0 view rules.

Usage: check_xml.py PATH... (addon directories or XML files).

Errors (exit status 1): a file that does not parse; in a view arch, a ``<tree>``
element (18.0 uses ``<list>``) or an ``attrs``/``states`` attribute (gone since
17.0: write ``invisible="state != 'draft'"``); a ``view_mode`` naming ``tree``.
Warnings: an ``<odoo><data>`` wrapper that sets nothing (write ``<odoo>`` alone).
"""

import sys
from pathlib import Path

from lxml import etree

SKIP_PARTS = {".git", ".venv", "node_modules", "lib"}


def xml_files(paths):
    for arg in paths:
        p = Path(arg)
        if p.is_file():
            yield p
        elif p.is_dir():
            for f in sorted(p.rglob("*.xml")):
                if not SKIP_PARTS.intersection(f.parts):
                    yield f


def check(path):
    errors, warnings = [], []
    try:
        root = etree.parse(str(path)).getroot()
    except etree.XMLSyntaxError as exc:
        return [f"{path}:{exc.lineno or 0}: not well-formed XML: {exc.msg}"], []
    if "static" in path.parts:  # OWL/QWeb assets: well-formedness only
        return [], []
    if root.tag == "odoo":
        children = [c for c in root if isinstance(c.tag, str)]
        if len(children) == 1 and children[0].tag == "data" and not children[0].attrib:
            warnings.append(
                f"{path}:{children[0].sourceline}: <odoo><data> wrapper without"
                " attributes; put the records directly under <odoo>"
            )
    for field in root.iter("field"):
        name = field.get("name")
        if name == "arch":
            for el in field.iter():
                if not isinstance(el.tag, str):
                    continue
                if el.tag == "tree":
                    errors.append(
                        f"{path}:{el.sourceline}: <tree> in a view: Odoo 18 uses <list>"
                    )
                for attr in ("attrs", "states"):
                    if attr in el.attrib:
                        errors.append(
                            f"{path}:{el.sourceline}: {attr}= is not supported since"
                            ' Odoo 17: use invisible="...", readonly="...",'
                            ' required="..." expressions'
                        )
        elif name == "view_mode" and "tree" in (field.text or "").split(","):
            errors.append(
                f"{path}:{field.sourceline}: view_mode 'tree': Odoo 18 calls it 'list'"
            )
    return errors, warnings


def main(argv):
    errors, warnings, count = [], [], 0
    for path in xml_files(argv or ["."]):
        count += 1
        e, w = check(path)
        errors += e
        warnings += w
    for w in warnings:
        print("warning: " + w)
    for e in errors:
        print("error: " + e)
    if errors:
        print(f"{len(errors)} XML error(s) in {count} file(s)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
