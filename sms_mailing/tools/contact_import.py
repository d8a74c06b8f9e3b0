"""Reading contact files for the SMS contact import (pure: no ORM).

Format, encoding and delimiter detection, header recognition in en/fr/ru/pt,
streaming of rows (CSV or XLSX in read-only mode) and the decision taken for
each row: a contact to create or update, or a refusal with its reason.

>>> recognize_header(["Nom", "Téléphone portable", "E-mail", "Société"])
['name', 'mobile', 'email', 'company']
>>> sniff_delimiter(["name;phone", "Ann;+33612345678"])
';'
"""

import codecs
import csv
import io
import re
import unicodedata
import zipfile
from collections import Counter
from dataclasses import dataclass, field

from . import phone
from .exceptions import ImportFileError

CSV = "csv"
XLSX = "xlsx"

# Columns a file may hold, in the order they are offered to the user.
FIELDS = (
    "name",
    "first_name",
    "last_name",
    "mobile",
    "phone",
    "email",
    "company",
    "city",
    "country",
)
NUMBER_FIELDS = ("mobile", "phone")

# Header words per column (en, fr, ru, pt), separated by "|" and compared after
# normalize_header(). Order matters for headers that contain several words.
_ALIASES = {
    "mobile": (
        "mobile|mobile phone|mobile number|cell|cellphone|cell phone|gsm|"
        "portable|tel portable|telephone portable|numero de portable|"
        "mobile no|мобильный|мобильный телефон|мобильный номер|сотовый|"
        "сотовый телефон|моб|моб телефон|celular|telemovel|tel celular|"
        "telefone celular|whatsapp"
    ),
    "phone": (
        "phone|phone number|telephone|tel|number|numero|numero de telephone|"
        "телефон|номер|номер телефона|тел|telefone|fone|numero de telefone|"
        "msisdn"
    ),
    "email": (
        "email|e mail|mail|email address|courriel|adresse email|"
        "adresse mail|почта|эл почта|электронная почта|емейл|имейл|"
        "correio eletronico|correio electronico"
    ),
    "last_name": (
        "last name|lastname|surname|family name|nom de famille|фамилия|"
        "sobrenome|apelido|ultimo nome"
    ),
    "first_name": "first name|firstname|given name|prenom|primeiro nome|nome proprio",
    "company": (
        "company|company name|organization|organisation|societe|entreprise|"
        "компания|организация|фирма|empresa|companhia|organizacao"
    ),
    "country": "country|pays|страна|pais",
    "city": "city|town|ville|город|cidade",
    "name": (
        "name|full name|fullname|contact|contact name|nom|nom complet|"
        "nom et prenom|имя|фио|ф и о|контакт|клиент|имя клиента|nome|"
        "nome completo|contato|contacto"
    ),
}
HEADER_ALIASES = {name: words.split("|") for name, words in _ALIASES.items()}

# Reasons of a refused line (codes; the model words them for the user).
NO_NUMBER = "no_number"
INVALID_NUMBER = "invalid_number"
DUPLICATE = "duplicate"

# Numbers written in one cell: "06 12 34 56 78 / 01 23 45 67 89".
_NUMBER_SPLIT = re.compile(r"[,;/|]")


# ----------------------------------------------------------------------
# Headers
# ----------------------------------------------------------------------
def normalize_header(text):
    """Lower case, no accents, words separated by one space.

    >>> normalize_header("  Téléphone-Portable ")
    'telephone portable'
    >>> normalize_header("Ф.И.О.")
    'ф и о'
    """
    text = unicodedata.normalize("NFKD", str(text or "")).casefold()
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(re.split(r"[\W_]+", text)).strip()


_EXACT = {
    normalize_header(alias): name
    for name, aliases in HEADER_ALIASES.items()
    for alias in aliases
}


def recognize_cell(text):
    """The column a header cell names, or ``None``.

    An exact alias wins; otherwise a header containing an alias of four
    letters or more ("Mobile phone (work)", "Nom de l'entreprise") is
    recognised, mobile before phone before company before name.

    >>> recognize_cell("Mobile phone (work)")
    'mobile'
    >>> recognize_cell("Nom de l'entreprise")
    'company'
    >>> recognize_cell("Remarks") is None
    True
    """
    key = normalize_header(text)
    if not key:
        return None
    if key in _EXACT:
        return _EXACT[key]
    padded = f" {key} "
    for name, aliases in HEADER_ALIASES.items():
        for alias in aliases:
            alias = normalize_header(alias)
            if len(alias) >= 4 and f" {alias} " in padded:
                return name
    return None


def recognize_header(cells):
    """One column name (or ``None``) per header cell; each name used once."""
    used = set()
    mapping = []
    for cell in cells:
        name = recognize_cell(cell)
        if name in used:
            name = None
        if name:
            used.add(name)
        mapping.append(name)
    return mapping


def guess_from_values(rows, region=None):
    """Column names for a file without a header row, from its first rows.

    A column of mostly valid numbers is the mobile (then the phone), one of
    mostly e-mail addresses the email, the first other text column the name.

    >>> rows = [["Ann", "+33612345678", "a@x.fr"], ["Bob", "0612345679", ""]]
    >>> guess_from_values(rows, "FR")
    ['name', 'mobile', 'email']
    """
    width = max((len(row) for row in rows), default=0)
    mapping = [None] * width
    used = set()
    for index in range(width):
        values = [row[index] for row in rows if index < len(row) and row[index]]
        if not values:
            continue
        numbers = sum(1 for v in values if parse_number(v, region)[0])
        emails = sum(1 for v in values if "@" in v)
        if numbers * 10 >= len(values) * 6:
            name = "mobile" if "mobile" not in used else "phone"
        elif emails * 10 >= len(values) * 6:
            name = "email"
        elif not any(ch.isdigit() for v in values for ch in v):
            name = "name"
        else:
            continue
        if name not in used:
            used.add(name)
            mapping[index] = name
    return mapping


def has_header(first_row, region=None):
    """Whether the first row is a header: it names a column, or holds no number.

    >>> has_header(["Ann", "+33612345678"])
    False
    >>> has_header(["Client", "Notes"])
    True
    """
    if any(recognize_header(first_row)):
        return True
    return not any(parse_number(cell, region)[0] for cell in first_row)


# ----------------------------------------------------------------------
# Format, encoding, delimiter
# ----------------------------------------------------------------------
def detect_format(data, filename=""):
    """``"csv"`` or ``"xlsx"`` from the content (the name only helps the message).

    >>> detect_format(b"name;phone\\n")
    'csv'
    >>> try:
    ...     detect_format(b"\\xd0\\xcf\\x11\\xe0...", "old.xls")
    ... except ImportFileError as err:
    ...     print(err.code)
    xls
    """
    if not data or not data.strip():
        raise ImportFileError("empty")
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
        except zipfile.BadZipFile as err:
            raise ImportFileError("unknown_format", filename=filename) from err
        if "xl/workbook.xml" in names:
            return XLSX
        raise ImportFileError("unknown_format", filename=filename)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError("xls", filename=filename)
    if data.startswith((b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\x1f\x8b")):
        raise ImportFileError("unknown_format", filename=filename)
    return CSV


def _is_valid_utf8(data, chunk=1 << 20):
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for start in range(0, len(data), chunk):
            decoder.decode(data[start : start + chunk])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(data):
    """The text encoding of a CSV file: UTF-8 (with or without BOM), UTF-16
    with BOM, else Windows-1251 (Cyrillic) or Windows-1252 (Western Europe),
    told apart by how accented bytes are grouped: whole Cyrillic words, or
    single accented letters inside Latin words.

    >>> detect_encoding("Имя;Телефон".encode("cp1251"))
    'cp1251'
    >>> detect_encoding("Prénom;Téléphone".encode("cp1252"))
    'cp1252'
    >>> detect_encoding("\\ufeffNom".encode("utf-8"))
    'utf-8-sig'
    """
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = data[:65536]
    controls = sum(1 for byte in sample if byte < 32 and byte not in (9, 10, 13))
    if b"\x00" in sample or controls * 100 > len(sample):
        raise ImportFileError("encoding")
    if _is_valid_utf8(data):
        return "utf-8"
    high = [i for i, byte in enumerate(sample) if byte >= 0xC0]
    grouped = sum(
        1
        for i in high
        if (i > 0 and sample[i - 1] >= 0xC0)
        or (i + 1 < len(sample) and sample[i + 1] >= 0xC0)
    )
    encoding = "cp1251" if high and grouped * 2 >= len(high) else "cp1252"
    try:
        data.decode(encoding)
    except UnicodeDecodeError as err:
        raise ImportFileError("encoding") from err
    return encoding


DELIMITERS = ("\t", ";", ",", "|")


def sniff_delimiter(lines):
    """The delimiter giving the same number (two or more) of columns on most
    lines; ``","`` for a file of one column.

    >>> sniff_delimiter(['"Smith, John";+33612345678', '"Doe, Ann";+33612345679'])
    ';'
    >>> sniff_delimiter(["+33612345678", "+33612345679"])
    ','
    """
    best, best_score = ",", None
    for delimiter in DELIMITERS:
        counts = [
            len(row) for row in csv.reader(lines, delimiter=delimiter) if any(row)
        ]
        if not counts:
            continue
        width, freq = Counter(counts).most_common(1)[0]
        if width < 2:
            continue
        score = (freq / len(counts), width)
        if best_score is None or score > best_score:
            best, best_score = delimiter, score
    return best


# ----------------------------------------------------------------------
# Rows
# ----------------------------------------------------------------------
@dataclass
class FileInfo:
    """What :func:`analyze` found: enough to read the rows again."""

    format: str
    encoding: str = ""
    delimiter: str = ""
    header: list = field(default_factory=list)
    has_header: bool = True
    mapping: list = field(default_factory=list)
    sample: list = field(default_factory=list)  # [(line, cells)]
    line_count: int = 0  # data rows (not the header, not blank rows)


def _cell_text(value):
    """A spreadsheet cell as text; numbers typed as numbers keep their digits."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value).strip()


def iter_rows(data, info):
    """``(line, cells)`` for every non-blank row of the file, header included.

    ``line`` is the row number a spreadsheet shows (1 for the first row).
    Rows are streamed: memory does not grow with the file.
    """
    if info.format == XLSX:
        yield from _iter_xlsx(data)
        return
    stream = io.TextIOWrapper(io.BytesIO(data), encoding=info.encoding, newline="")
    reader = csv.reader(stream, delimiter=info.delimiter or ",")
    try:
        for line, row in enumerate(reader, start=1):
            cells = [cell.strip() for cell in row]
            if any(cells):
                yield line, cells
    except (UnicodeDecodeError, csv.Error) as err:
        raise ImportFileError("encoding") from err


def _iter_xlsx(data):
    import openpyxl  # an Odoo requirement; imported here to keep doctests light

    try:
        workbook = openpyxl.load_workbook(
            io.BytesIO(data), read_only=True, data_only=True
        )
    except Exception as err:  # zipfile, XML or openpyxl errors: not a workbook
        raise ImportFileError("unknown_format", filename="") from err
    try:
        sheet = workbook.worksheets[0]
        for line, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [_cell_text(value) for value in row]
            while cells and not cells[-1]:
                cells.pop()
            if cells:
                yield line, cells
    finally:
        workbook.close()


def analyze(data, filename="", region=None, sample_size=5):
    """Open the file once: format, encoding, delimiter, header, mapping
    guessed, the first rows and the number of data rows."""
    info = FileInfo(format=detect_format(data, filename))
    if info.format == CSV:
        info.encoding = detect_encoding(data)
        head = data[:65536].decode(info.encoding, errors="ignore")
        lines = head.splitlines()[:50]
        if len(data) > 65536 and len(lines) > 1:
            lines = lines[:-1]  # the last line of the sample may be cut
        info.delimiter = sniff_delimiter(lines)
    first = None
    count = 0
    for line, cells in iter_rows(data, info):
        if first is None:
            first = cells
            info.has_header = has_header(cells, region)
            if info.has_header:
                info.header = cells
                continue
            first = None
            info.header = []
        count += 1
        if len(info.sample) < sample_size:
            info.sample.append((line, cells))
    if first is None and not info.sample:
        raise ImportFileError("empty")
    info.line_count = count
    if info.has_header:
        info.mapping = recognize_header(info.header)
    else:
        info.mapping = guess_from_values(
            [cells for _line, cells in info.sample], region
        )
        width = len(info.mapping)
        info.header = [""] * width
    return info


def data_rows(data, info):
    """The rows to import: :func:`iter_rows` without the header."""
    rows = iter_rows(data, info)
    if info.has_header:
        next(rows, None)
    return rows


# ----------------------------------------------------------------------
# Decisions
# ----------------------------------------------------------------------
def parse_number(text, region=None):
    """``(e164, error)``; a cell holding several numbers gives the first valid.

    >>> parse_number("06 12 34 56 78 / 01 23 45 67 89", "FR")
    ('+33612345678', None)
    >>> parse_number("12", "FR")
    (None, 'sms_number_format')
    """
    e164, error = phone.normalize(text, region)
    if e164 or error == phone.MISSING:
        return e164, error
    for part in _NUMBER_SPLIT.split(str(text)):
        e164, _error = phone.normalize(part, region)
        if e164:
            return e164, None
    return None, error


@dataclass
class Decision:
    line: int
    cells: list
    number: str = ""  # E.164 key of the contact
    values: dict = field(default_factory=dict)  # contact values (see FIELDS)
    reason: str = ""  # NO_NUMBER, INVALID_NUMBER, DUPLICATE or ""
    detail: str = ""  # the refused number, or the line of the first occurrence


def _contact_values(values, country):
    """The contact values of an accepted row (updated in place): the ISO code
    of its ``country`` (else none), a name made of the first and last names
    unless a name is given, the e-mail in lower case.

    >>> _contact_values({"first_name": "Ann", "last_name": "Smith",
    ...     "email": " Ann@Example.COM ", "country": "France"}, "FR")
    {'email': 'ann@example.com', 'country': 'FR', 'name': 'Ann Smith'}
    >>> _contact_values({"name": "Bob", "first_name": "Robert", "country": "?"}, None)
    {'name': 'Bob'}
    """
    if country:
        values["country"] = country
    else:
        values.pop("country", None)
    if "first_name" in values or "last_name" in values:
        full = " ".join(
            part
            for part in (values.pop("first_name", ""), values.pop("last_name", ""))
            if part
        )
        values.setdefault("name", full)
    if values.get("email"):
        values["email"] = values["email"].strip().lower()
    return values


def decide(line, cells, mapping, region=None, countries=None, seen=None):
    """The decision for one data row.

    ``mapping`` gives a column name (or ``None``) per cell; ``countries`` maps
    :func:`normalize_header` of a country cell to an ISO code (the row's
    country, used for its numbers); ``seen`` ({number: line}) is updated and
    flags later rows with the same number as duplicates.

    >>> mapping = ["name", "mobile"]
    >>> seen = {}
    >>> decide(2, ["Ann", "06 12 34 56 78"], mapping, "FR", seen=seen).number
    '+33612345678'
    >>> d = decide(3, ["Ann again", "+33 6 12 34 56 78"], mapping, "FR", seen=seen)
    >>> d.reason, d.detail
    ('duplicate', '2')
    >>> decide(4, ["Bob", "123"], mapping, "FR").reason
    'invalid_number'
    >>> decide(5, ["Carl", ""], mapping, "FR").reason
    'no_number'
    """
    values = {}
    for name, cell in zip(mapping, cells, strict=False):
        if name and cell and name not in values:
            values[name] = cell
    country = None
    if values.get("country") and countries:
        country = countries.get(normalize_header(values["country"]))
    row_region = country or region
    decision = Decision(line=line, cells=cells)
    refused = ""
    for name in NUMBER_FIELDS:
        raw = values.pop(name, "")
        if not raw:
            continue
        e164, _error = parse_number(raw, row_region)
        if e164:
            values[name] = e164
            decision.number = decision.number or e164
        else:
            refused = refused or raw
    if not decision.number:
        decision.reason = INVALID_NUMBER if refused else NO_NUMBER
        decision.detail = refused
        return decision
    decision.values = _contact_values(values, country)
    if seen is not None:
        if decision.number in seen:
            decision.reason = DUPLICATE
            decision.detail = str(seen[decision.number])
        else:
            seen[decision.number] = line
    return decision


def csv_line(cells, delimiter=","):
    """One CSV line.

    >>> csv_line(["Line", "Reason", "Nom; prénom"], ";")
    'Line;Reason;"Nom; prénom"\\r\\n'
    """
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter or ",").writerow(cells)
    return out.getvalue()


def refused_csv(decisions, messages, delimiter=","):
    """CSV text of refused rows: line, reason, then the original cells.

    ``messages`` maps a reason code to a sentence with ``{detail}``.

    >>> d = Decision(4, ["Bob", "123"], reason=INVALID_NUMBER, detail="123")
    >>> refused_csv([d], {INVALID_NUMBER: "Invalid number: {detail}"})
    '4,Invalid number: 123,Bob,123\\r\\n'
    """
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter or ",")
    for decision in decisions:
        message = messages.get(decision.reason, decision.reason)
        writer.writerow(
            [decision.line, message.format(detail=decision.detail), *decision.cells]
        )
    return out.getvalue()
