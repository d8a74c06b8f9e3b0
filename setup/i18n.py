"""Translations of the addons: `make i18n` and the translation checks of `make test`.

``make i18n`` (this script without arguments; setup/i18n.sh prepares the
environment like setup/test.sh):

1. copies the test template database (setup/test.py builds it once) into a
   throw-away database and installs the addons there;
2. lets Odoo export each addon's terms (``odoo.tools.translate.trans_export``,
   what ``odoo-bin --i18n-export`` calls: Python ``_()``/``_lt()``, field labels,
   help and selections, views, menus, actions, QWeb templates and the JavaScript
   ``_t()`` strings of static/src) into ``<addon>/i18n/<addon>.pot``; a .pot whose
   terms did not change is left alone (no date-only diffs);
3. merges every ``<addon>/i18n/<lang>.po`` of LANGS with ``msgmerge --update
   --no-fuzzy-matching`` (a missing one is created with Odoo's header) and drops
   obsolete entries. New terms then show up untranslated, and the check fails
   until someone translates them.

The checks (``--check``, and phases of setup/test.py):

* ``check_po_files``: every .po of LANGS exists, passes ``msgfmt -c``, has no
  untranslated or fuzzy entry, keeps the placeholders and markup of each term
  (``%(name)s``, ``%s``, ``{}``, ``{{ ... }}``, HTML/XML tags), and holds exactly
  the terms of the committed .pot (a .po older or newer than the .pot fails);
* ``check_static_terms``: a cheap extraction without database (Odoo's own babel
  extractors for Python ``_()``/``_lt()``, JavaScript ``_t()`` and QWeb, Odoo's
  ``xml_translate`` on the views of the data files, menu and action names, explicit
  field strings, help and selection labels): a term of the code that the committed
  .pot lacks means the .pot is older than the code;
* ``check_exported_terms`` (needs the database the Odoo tests already installed
  the addons into): Odoo's complete export compared with the committed .pot, which
  also catches what no static reading sees (labels Odoo derives from field names,
  inherited views, data records).
"""

import argparse
import ast
import contextlib
import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import polib

ROOT = Path(os.environ.get("ROOT") or Path(__file__).resolve().parent.parent)

# Odoo's language codes, with the Language-Team and Plural-Forms of the header
# (GNU gettext's rules: Russian has three forms, 1 / 2-4 / 5-20, 21, ...).
LANGS = {
    "ru": (
        "Russian",
        "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && "
        "(n%100<10 || n%100>=20) ? 1 : 2);",
    ),
    "fr": ("French", "nplurals=2; plural=(n > 1);"),
    "pt_BR": ("Portuguese (Brazil)", "nplurals=2; plural=(n > 1);"),
}

PLACEHOLDER_RE = re.compile(
    r"%%"  # a literal percent sign, never a placeholder's start
    r"|%\([A-Za-z_]\w*\)[-#0 +]*\d*(?:\.\d+)?[sdifr]"  # %(name)s
    r"|%[-#0 +]*\d*(?:\.\d+)?[sdifr]"  # %s %d
    r"|\{\{.*?\}\}"  # {{ object.name }} (inline templates)
    r"|\{[A-Za-z_0-9]*\}"  # {} {0} {name}
    r"|</?[A-Za-z][^<>]*>"  # markup
)

EXPORT_SCRIPT = """
import io, json
from odoo.tools.translate import trans_export
for addon, path in json.loads({targets!r}).items():
    buf = io.BytesIO()
    trans_export(None, [addon], buf, "po", env.cr)
    with open(path, "wb") as fh:
        fh.write(buf.getvalue())
    print("exported", addon, "->", path)
"""


def say(msg=""):
    print(msg, flush=True)


def pot_path(addon):
    return ROOT / addon / "i18n" / f"{addon}.pot"


def po_path(addon, lang):
    return ROOT / addon / "i18n" / f"{lang}.po"


def msgids(path):
    return {e.msgid for e in polib.pofile(str(path)) if e.msgid and not e.obsolete}


def placeholders(text):
    return sorted(m.group(0) for m in PLACEHOLDER_RE.finditer(text))


def short(text, width=90):
    text = text.replace("\n", "\\n")
    return text if len(text) <= width else text[: width - 3] + "..."


# -- make i18n ----------------------------------------------------------------


def pot_body(path):
    """A .pot without its header dates: what decides whether it changed."""
    if not path.exists():
        return None
    text = path.read_text()
    return re.sub(r'^"(POT-Creation|PO-Revision)-Date: .*$', "", text, flags=re.M)


def new_po(addon, lang, pot):
    """A .po for ``lang`` with the .pot's terms and a header like Odoo's own."""
    team, plural = LANGS[lang]
    po = polib.pofile(str(pot))
    po.header = (
        "Translation of Odoo Server.\n"
        "This file contains the translation of the following modules:\n"
        f"\t* {addon}\n"
    )
    po.metadata.update(
        {
            "Last-Translator": "",
            "Language-Team": team,
            "Language": lang,
            "Plural-Forms": plural,
        }
    )
    return po


def merge_po(addon, lang):
    """Bring ``lang``.po to the .pot's terms; return the counts of entries."""
    pot, po = pot_path(addon), po_path(addon, lang)
    if not po.exists():
        new_po(addon, lang, pot).save(str(po))
    subprocess.run(
        [
            "msgmerge",
            "--quiet",
            "--update",
            "--no-fuzzy-matching",
            "--backup=none",
            str(po),
            str(pot),
        ],
        check=True,
    )
    subprocess.run(
        ["msgattrib", "--no-obsolete", "-o", str(po), str(po)],
        check=True,
    )
    # msgmerge keeps the header; Language and Plural-Forms are ours to fix.
    pofile = polib.pofile(str(po))
    team, plural = LANGS[lang]
    changed = False
    for key, value in (("Language", lang), ("Plural-Forms", plural)):
        if pofile.metadata.get(key) != value:
            pofile.metadata[key] = value
            changed = True
    if changed:
        pofile.save(str(po))
    entries = [e for e in pofile if not e.obsolete]
    return len(entries), len([e for e in entries if not e.msgstr])


def export_pots(harness, db, log_dir):
    """Odoo's export of each addon into var/: {addon: exported .pot path}."""
    out_dir = harness.VAR_DIR / "i18n"
    out_dir.mkdir(parents=True, exist_ok=True)
    targets = {a: str(out_dir / f"{a}.pot") for a in harness.ADDONS}
    for path in targets.values():
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    log_path = log_dir / "i18n-export.log"
    rc, seconds = harness.run_logged(
        harness.odoo_cmd(db, "--no-http", command="shell"),
        log_path,
        stdin_text=EXPORT_SCRIPT.format(targets=json.dumps(targets)),
    )
    missing = [a for a, p in targets.items() if not Path(p).exists()]
    if rc or missing:
        raise RuntimeError(
            f"Odoo's export failed for {', '.join(missing) or 'the addons'}"
            f" (exit {rc}); log: {os.path.relpath(log_path, ROOT)}"
        )
    return {a: Path(p) for a, p in targets.items()}, seconds


def load_harness():
    """setup/test.py as a module (template database, Odoo commands, logs)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "sms_test_harness", Path(__file__).with_name("test.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_i18n():
    harness = load_harness()
    run = harness.Run()
    stamp = time.strftime("%Y%m%d_%H%M%S")
    db = f"sms_test_i18n_{stamp}_{uuid.uuid4().hex[:6]}"
    log_dir = harness.VAR_DIR / "log" / db
    log_dir.mkdir(parents=True, exist_ok=True)
    deps = harness.external_depends()
    template = harness.template_name(deps)
    created = False
    try:
        with harness.locked(harness.DATA_DIR / "locks" / f"{template}.lock"):
            if not harness.build_template(run, template, deps, log_dir):
                return 1
            harness.create_test_db(template, db)
            created = True
        say(f"==> Installing {', '.join(harness.ADDONS)} into {db}")
        log_path = log_dir / "i18n-install.log"
        rc, seconds = harness.run_logged(
            harness.odoo_cmd(
                db, "-i", ",".join(harness.ADDONS), "--stop-after-init", "--no-http"
            ),
            log_path,
        )
        # Odoo exits 0 when demo data fails to load; the export would then miss
        # the demo terms and msgmerge would drop their translations.
        errors = [
            rec
            for rec in harness.parse_odoo_log(log_path)
            if rec["level"] in ("ERROR", "CRITICAL")
        ]
        if rc or errors:
            for rec in errors[:10]:
                say(f"    {rec['level']} {rec['logger']}: {short(rec['msg'])}")
            say(
                f"  ✗ install failed (exit {rc}, {len(errors)} ERROR lines);"
                f" nothing exported; log: {os.path.relpath(log_path, ROOT)}"
            )
            return 1
        say(f"    installed in {seconds:.0f}s; exporting the terms with Odoo")
        exported, seconds = export_pots(harness, db, log_dir)
    finally:
        if created:
            with contextlib.suppress(Exception):
                harness.drop_db(db)
    todo = 0
    for addon, fresh in exported.items():
        pot = pot_path(addon)
        pot.parent.mkdir(exist_ok=True)
        if pot_body(pot) == pot_body(fresh):
            note = "unchanged"
        else:
            pot.write_text(fresh.read_text())
            note = "updated"
        say(f"  {addon}.pot: {len(msgids(pot))} terms ({note})")
        for lang in LANGS:
            total, untranslated = merge_po(addon, lang)
            todo += untranslated
            say(f"    {lang}.po: {total} terms, {untranslated} untranslated")
    if todo:
        say("Translate the untranslated entries, then check with: make i18n-check")
    return 0


# -- checks -------------------------------------------------------------------


def check_po_file(addon, lang):
    """Problems of one .po, each a line for the console."""
    po, pot = po_path(addon, lang), pot_path(addon)
    rel = os.path.relpath(po, ROOT)
    if not po.exists():
        return [f"{rel}: missing (run: make i18n)"]
    problems = []
    res = subprocess.run(
        ["msgfmt", "-c", "--check-format", "-o", os.devnull, str(po)],
        capture_output=True,
        text=True,
    )
    if res.returncode:
        problems += [f"{rel}: msgfmt: {line}" for line in res.stderr.splitlines()]
        return problems
    pofile = polib.pofile(str(po))
    if pofile.metadata.get("Plural-Forms") != LANGS[lang][1]:
        problems.append(f"{rel}: header Plural-Forms is not {LANGS[lang][1]!r}")
    entries = [e for e in pofile if not e.obsolete and e.msgid]
    for e in entries:
        where = f"{rel}:{e.linenum}"
        if "fuzzy" in e.flags:
            problems.append(f"{where}: fuzzy: {short(e.msgid)!r}")
        elif not e.msgstr:
            problems.append(f"{where}: untranslated: {short(e.msgid)!r}")
        elif placeholders(e.msgid) != placeholders(e.msgstr):
            problems.append(
                f"{where}: placeholders or markup differ: {short(e.msgid)!r}"
                f" has {placeholders(e.msgid)}, the translation"
                f" {placeholders(e.msgstr)}"
            )
    if pot.exists():
        ids = {e.msgid for e in entries}
        pot_ids = msgids(pot)
        for term in sorted(pot_ids - ids):
            problems.append(f"{rel}: missing term of the .pot: {short(term)!r}")
        for term in sorted(ids - pot_ids):
            problems.append(f"{rel}: term no longer in the .pot: {short(term)!r}")
    return problems


def check_po_files(addons):
    """{(addon, lang): [problems]} for every .po of LANGS."""
    return {(a, lang): check_po_file(a, lang) for a in addons for lang in LANGS}


# Static extraction (no database) -------------------------------------------

# Positional index of ``string`` in each field type's signature.
STRING_POS = {
    "Many2one": 1,
    "One2many": 2,
    "Many2many": 4,
    "Selection": 1,
    "Reference": 1,
    "Many2oneReference": 1,
}


def _const_str(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _selection_labels(node):
    labels = []
    if isinstance(node, ast.List | ast.Tuple):
        for item in node.elts:
            if isinstance(item, ast.Tuple) and len(item.elts) >= 2:
                label = _const_str(item.elts[1])
                if label:
                    labels.append(label)
    return labels


def python_field_terms(path):
    """(term, line) of explicit field strings, help, selection labels, and
    ``_description`` of the models of one Python file."""
    tree = ast.parse(path.read_text(), str(path))
    terms = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "_description" for t in node.targets
        ):
            value = _const_str(node.value)
            if value:
                terms.append((value, node.lineno))
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "fields"
        ):
            continue
        kind = node.func.attr
        pos = STRING_POS.get(kind, 0)
        if len(node.args) > pos:
            value = _const_str(node.args[pos])
            if value:
                terms.append((value, node.lineno))
        if kind in ("Selection", "Reference") and node.args:
            terms += [(t, node.lineno) for t in _selection_labels(node.args[0])]
        for kw in node.keywords:
            if kw.arg in ("string", "help"):
                value = _const_str(kw.value)
                if value:
                    terms.append((value, node.lineno))
            elif kw.arg in ("selection", "selection_add"):
                terms += [(t, node.lineno) for t in _selection_labels(kw.value)]
    return terms


def _babel_terms(path, method, keywords):
    from babel.messages import extract

    with open(path, "rb") as fh:
        for lineno, message, *_rest in extract.extract(
            method, fh, keywords=keywords, options={"encoding": "UTF-8"}
        ):
            if isinstance(message, tuple):  # plural forms: (singular, plural)
                message = message[0]
            if message:
                yield message, lineno


def _field_value(field):
    """A data file <field>'s value as Odoo's XML import stores it."""
    from lxml import etree

    if field.get("type") in ("xml", "html"):
        return "".join(
            etree.tostring(child, encoding="unicode") for child in field
        ) or (field.text or "")
    return field.text or ""


# Translatable fields of Odoo's models that our data files fill in, with the
# function that splits them into terms (None: the whole value is one term).
DATA_FIELDS = {
    "ir.ui.view": {"arch": "xml"},
    "ir.actions.act_window": {"name": None, "help": "html"},
    "ir.actions.server": {"name": None},
    "ir.actions.client": {"name": None},
    "ir.actions.report": {"name": None},
    "ir.cron": {"name": None},
    "ir.ui.menu": {"name": None},
    "res.groups": {"name": None, "comment": None},
    "ir.module.category": {"name": None, "description": None},
    "sms.template": {"name": None, "body": None},
    "res.partner.category": {"name": None},
    "mail.template": {"name": None, "subject": None, "body_html": "html"},
    "ir.model.fields": {"field_description": None, "help": None},
}


def xml_data_terms(path):
    """(term, line) of the views, menus and actions of one data file."""
    from lxml import etree

    from odoo.tools.translate import html_translate, xml_translate

    splitters = {"xml": xml_translate, "html": html_translate}
    tree = etree.parse(str(path))
    terms = []
    for node in tree.iter("menuitem"):
        if node.get("name"):
            terms.append((node.get("name"), node.sourceline))
    for record in tree.iter("record"):
        fields = DATA_FIELDS.get(record.get("model"), {})
        for field in record.iter("field"):
            if field.getparent() is not record or field.get("name") not in fields:
                continue
            how = fields[field.get("name")]
            value = _field_value(field)
            if how is None:
                if value.strip():
                    terms.append((value, field.sourceline))
                continue
            found = []

            def collect(term, found=found):
                found.append(term)
                return term

            with contextlib.suppress(Exception):
                splitters[how](collect, value)
            terms += [(t, field.sourceline) for t in found]
    return terms


def static_terms(addon):
    """{term: "file:line"} that a reading of ``addon``'s files finds."""
    root = ROOT / addon
    found = {}

    def add(pairs, path):
        rel = os.path.relpath(path, ROOT)
        for term, line in pairs:
            # Odoo's export leaves out empty and one-character terms once
            # non-word characters are removed (":", "·", "%"...).
            if len(re.sub(r"\W+", "", term.strip())) <= 1:
                continue
            found.setdefault(term, f"{rel}:{line}")

    for path in sorted(root.rglob("*.py")):
        if "tests" in path.relative_to(root).parts:
            continue
        add(_babel_terms(path, "python", {"_": None, "_lt": None}), path)
        add(python_field_terms(path), path)
    for path in sorted((root / "static" / "src").rglob("*.js")):
        add(_babel_terms(path, "javascript", {"_t": None}), path)
    for path in sorted((root / "static" / "src").rglob("*.xml")):
        add(_babel_terms(path, "odoo.tools.translate:babel_extract_qweb", {}), path)
    manifest = ast.literal_eval((root / "__manifest__.py").read_text())
    for name in manifest.get("data", []) + manifest.get("demo", []):
        if name.endswith(".xml"):
            add(xml_data_terms(root / name), root / name)
    return found


def check_static_terms(addons):
    """{addon: [problems]}: terms of the code the committed .pot lacks."""
    result = {}
    for addon in addons:
        pot = pot_path(addon)
        if not pot.exists():
            result[addon] = [f"{os.path.relpath(pot, ROOT)}: missing (run: make i18n)"]
            continue
        known = msgids(pot)
        result[addon] = [
            f"{where}: not in {addon}.pot: {short(term)!r}"
            for term, where in sorted(static_terms(addon).items(), key=lambda x: x[1])
            if term not in known
        ]
    return result


def check_exported_terms(exported):
    """{addon: [problems]}: Odoo's export ({addon: fresh .pot}) against the
    committed .pot."""
    result = {}
    todo = 0
    for addon, fresh in exported.items():
        pot = pot_path(addon)
        rel = os.path.relpath(pot, ROOT)
        if not pot.exists():
            result[addon] = [f"{rel}: missing (run: make i18n)"]
            continue
        now, committed = msgids(fresh), msgids(pot)
        result[addon] = [
            f"{rel}: lacks a term of the code: {short(t)!r}"
            for t in sorted(now - committed)
        ] + [
            f"{rel}: has a term no longer in the code: {short(t)!r}"
            for t in sorted(committed - now)
        ]
    return result


HINT = (
    "run 'make i18n' (regenerates the .pot files and merges the .po files), then "
    "translate every untranslated entry of fr.po, ru.po and pt_BR.po"
)


def report(title, problems_by_key, limit=40):
    """Print the problems; return (passed, failed) counts of the keys."""
    bad = {k: v for k, v in problems_by_key.items() if v}
    lines = [p for v in bad.values() for p in v]
    if lines:
        say(f"  ✗ {title}: {len(lines)} problem(s); {HINT}")
        for line in lines[:limit]:
            say(f"    {line}")
        if len(lines) > limit:
            say(f"    ... {len(lines) - limit} more")
    return len(problems_by_key) - len(bad), len(bad)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="only check the .po files and the .pot against the code (no database)",
    )
    args = parser.parse_args()
    addons = [a for a in os.environ.get("ADDONS", "").split(",") if a]
    if not args.check:
        return make_i18n()
    ok1, bad1 = report("translations", check_po_files(addons))
    ok2, bad2 = report("terms of the code", check_static_terms(addons))
    say(f"{ok1 + ok2} passed, {bad1 + bad2} failed")
    return 1 if bad1 + bad2 else 0


if __name__ == "__main__":
    sys.exit(main())
