"""Reading contact files (sms_mailing/tools/contact_import.py, no database)."""

import doctest
import io

import openpyxl
import pytest

from odoo.addons.sms_mailing.tools import contact_import as ci


def test_doctests():
    failures, tried = doctest.testmod(ci)
    assert tried > 20
    assert failures == 0


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (
            ["Name", "Mobile", "Phone", "Email", "Company"],
            ["name", "mobile", "phone", "email", "company"],
        ),
        (
            ["Nom", "Prénom", "Portable", "Téléphone", "Courriel", "Société", "Ville"],
            ["name", "first_name", "mobile", "phone", "email", "company", "city"],
        ),
        (
            ["ФИО", "Мобильный телефон", "Телефон", "Почта", "Компания", "Страна"],
            ["name", "mobile", "phone", "email", "company", "country"],
        ),
        (["Имя", "Фамилия", "E-mail"], ["name", "last_name", "email"]),
        (
            ["Nome", "Celular", "Telefone", "E-mail", "Empresa", "Cidade", "País"],
            ["name", "mobile", "phone", "email", "company", "city", "country"],
        ),
        (
            ["Full Name", "Mobile phone (work)", "Company phone", "Notes"],
            ["name", "mobile", "phone", None],
        ),
        # A second column of the same kind is left to the user.
        (["Phone", "Phone 2"], ["phone", None]),
        (["", "  ", "Tel."], [None, None, "phone"]),
    ],
)
def test_recognize_header(cells, expected):
    assert ci.recognize_header(cells) == expected


@pytest.mark.parametrize(
    ("text", "encoding", "expected"),
    [
        ("ФИО;Телефон\nПётр Петров;+79161234567\n", "cp1251", "cp1251"),
        ("Nom;Téléphone\nHélène Dupré;0612345678\n", "cp1252", "cp1252"),
        ("Nom;Téléphone\nHélène;0612345678\n", "utf-8", "utf-8"),
        ("Nom;Téléphone\n", "utf-8-sig", "utf-8-sig"),
        ("Nom;Téléphone\n", "utf-16", "utf-16"),
        ("name;phone\n", "ascii", "utf-8"),
    ],
)
def test_detect_encoding(text, encoding, expected):
    assert ci.detect_encoding(text.encode(encoding)) == expected


@pytest.mark.parametrize(
    "data",
    [
        "Name;Mobile\n".encode("utf-16-le"),  # UTF-16 without BOM: NUL bytes
        bytes(range(1, 32)) * 10,  # control characters
        b"Name\n\x81\x8d broken\n",  # not UTF-8, undefined in cp1252
    ],
)
def test_unreadable_text(data):
    with pytest.raises(ci.ImportFileError) as err:
        ci.detect_encoding(data)
    assert err.value.code == "encoding"


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["a,b,c", "1,2,3"], ","),
        (["a;b;c", "1;2,5;3"], ";"),
        (["a\tb", "1\t2"], "\t"),
        (["a|b", "1|2"], "|"),
        (['"Doe, John";+33612345678', '"Roe, Ann";+33612345679'], ";"),
        (["+33612345678"], ","),
    ],
)
def test_sniff_delimiter(lines, expected):
    assert ci.sniff_delimiter(lines) == expected


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty"),
        (b"  \r\n ", "empty"),
        (b"%PDF-1.7", "unknown_format"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "xls"),
        (b"PK\x03\x04not a zip", "unknown_format"),
    ],
)
def test_detect_format_refusals(data, code):
    with pytest.raises(ci.ImportFileError) as err:
        ci.detect_format(data, "f")
    assert err.value.code == code


def _xlsx(rows):
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_analyze_xlsx_keeps_digits_of_numbers_typed_as_numbers():
    data = _xlsx(
        [["Nome", "Celular"], ["Ana", 11987654321], [None, None], ["Rui", 11.0]]
    )
    info = ci.analyze(data, "a.xlsx", "BR")
    assert (info.format, info.line_count, info.mapping) == (
        "xlsx",
        2,
        ["name", "mobile"],
    )
    rows = list(ci.data_rows(data, info))
    assert rows == [(2, ["Ana", "11987654321"]), (4, ["Rui", "11"])]


def test_analyze_csv_streams_rows_with_spreadsheet_line_numbers():
    text = 'Name;Mobile\n"Ann\nSmith";+33612345678\n\n;\nBob;0612345679\n'
    data = text.encode("cp1252")
    info = ci.analyze(data, "a.csv", "FR")
    assert (info.encoding, info.delimiter, info.line_count) == ("utf-8", ";", 2)
    rows = list(ci.data_rows(data, info))
    # A quoted line break stays in its cell; blank rows keep their number.
    assert rows == [(2, ["Ann\nSmith", "+33612345678"]), (5, ["Bob", "0612345679"])]


def test_analyze_header_only_file_has_no_line():
    info = ci.analyze(b"Name;Mobile\n", "a.csv")
    assert info.line_count == 0


def test_analyze_file_without_header_guesses_columns():
    info = ci.analyze(b"Ann;a@x.fr;+33612345678\nBob;;0612345679\n", "a.csv", "FR")
    assert not info.has_header
    assert info.mapping == ["name", "email", "mobile"]
    assert info.line_count == 2


def test_decide_country_column_sets_the_region_of_the_line():
    countries = {"france": "FR", "fr": "FR", "россия": "RU"}
    mapping = ["name", "mobile", "country"]
    french = ci.decide(2, ["Ann", "06 12 34 56 78", "France"], mapping, "RU", countries)
    assert (french.number, french.values["country"]) == ("+33612345678", "FR")
    russian = ci.decide(
        3, ["Петр", "8 916 123-45-67", "Россия"], mapping, "FR", countries
    )
    assert russian.number == "+79161234567"
    unknown = ci.decide(4, ["X", "+79161234568", "Atlantis"], mapping, "FR", countries)
    assert "country" not in unknown.values


def test_decide_mobile_first_then_phone_and_names_joined():
    mapping = ["first_name", "last_name", "mobile", "phone", "email"]
    decision = ci.decide(
        2,
        ["Ann", "Smith", "not a number", "01 23 45 67 89", " Ann@X.FR "],
        mapping,
        "FR",
    )
    assert decision.reason == ""
    assert decision.number == "+33123456789"
    assert decision.values == {
        "name": "Ann Smith",
        "phone": "+33123456789",
        "email": "ann@x.fr",
    }


def test_refused_csv_keeps_original_cells():
    decisions = [
        ci.Decision(3, ["Bob", "12"], reason=ci.INVALID_NUMBER, detail="12"),
        ci.Decision(4, ["Ann", "+33612345678"], reason=ci.DUPLICATE, detail="2"),
    ]
    text = ci.refused_csv(
        decisions,
        {ci.INVALID_NUMBER: "Invalid: {detail}", ci.DUPLICATE: "As line {detail}"},
        ";",
    )
    assert text.splitlines() == ["3;Invalid: 12;Bob;12", "4;As line 2;Ann;+33612345678"]


def test_many_rows_stream_with_flat_memory():
    import tracemalloc

    lines = ["name;mobile"] + [f"C{i};+3361{i:07d}" for i in range(50_000)]
    data = "\n".join(lines).encode()
    info = ci.analyze(data, "big.csv", "FR")
    assert info.line_count == 50_000
    tracemalloc.start()
    count = sum(1 for _row in ci.data_rows(data, info))
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == 50_000
    assert peak < 2_000_000, "rows are streamed, not loaded"
