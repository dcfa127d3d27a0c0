"""Special-needs registry: phone and address normalization, CSV import into real SQLite, matching.

Expected keys are written by hand from the rules in app/calls/addresses.py, not copied from its output.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.ali.parse import parse_stream
from app.calls.addresses import normalize_address, normalize_address_text, normalize_phone
from app.calls.registry import (
    RegistryIndex,
    RegistryRow,
    address_key_for_record,
    import_registry_csv,
    phones_for_record,
)
from app.store import StoreError, StoreWriter
from app.store.schema import MIGRATIONS, SCHEMA_VERSION, migrate
from hardware.sim.spills import DEMO_RECORDS, format_30w, frame, rebid_of

ROOT = Path(__file__).resolve().parents[2]
DEMO_REGISTRY = ROOT / "assets/registry/demo-registry.csv"
HEADER = "phone,address,community,name,category,notes\n"


# ---- normalization ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("(719) 555-0101", "7195550101"),
    ("719.555.0101", "7195550101"),
    ("719 555 0101", "7195550101"),
    ("+1 719 555 0101", "7195550101"),
    ("1-719-555-0101", "7195550101"),
    ("17195550101", "7195550101"),
    ("(719) 555-0101 x12", "7195550101"),
    ("719-555-0101 ext. 4", "7195550101"),
    ("555-0101", ""),  # seven digits: no area code, cannot be matched safely
    ("27195550101", ""),  # eleven digits not starting with 1
    ("719-555-010", ""),
    ("719-555-01O1", ""),  # a letter O typed for a zero
    ("none", ""),
    ("", ""),
    (None, ""),
])
def test_normalize_phone(text, expected):
    assert normalize_phone(text) == expected


@pytest.mark.parametrize(("text", "community", "expected"), [
    ("123 North Main Street Apt 4", "", "123 N MAIN ST|"),
    ("123 N. Main St., Apt. 4", "", "123 N MAIN ST|"),
    ("123 n main st #4", "", "123 N MAIN ST|"),
    ("123 N Main St Unit 4B", "Demo City", "123 N MAIN ST|DEMO CITY"),
    ("123  N   Main   St", " demo  city ", "123 N MAIN ST|DEMO CITY"),
    ("00123 Main St", "", "123 MAIN ST|"),
    ("123-A Main St", "", "123A MAIN ST|"),
    ("123A Main St", "", "123A MAIN ST|"),
    ("123 1/2 Main St", "", "123 1/2 MAIN ST|"),
    ("4410 North Academy Boulevard, Building C", "", "4410 N ACADEMY BLVD|"),
    ("1000 Oak Valley Drive, Demo City", "", "1000 OAK VALLEY DR|"),  # after a comma: unit or town
    ("50 South West Third Avenue", "", "50 SW 3RD AVE|"),
    ("50 Southwest 3rd Ave", "", "50 SW 3RD AVE|"),
    ("7 First Street", "", "7 1ST ST|"),
    ("7 Tenth Road", "", "7 10TH RD|"),
    ("7 Twelfth Lane", "", "7 12TH LN|"),
    ("9 Saint James Place Suite 200", "", "9 ST JAMES PL|"),
    ("1 Memorial Parkway", "", "1 MEMORIAL PKWY|"),
    ("1 State Highway 94", "", "1 STATE HWY 94|"),
    ("1 Vista Circle", "", "1 VISTA CIR|"),
    ("1 Hill Terrace Trailer 9", "", "1 HILL TER|"),
    ("1 Elm Court Ste 5", "", "1 ELM CT|"),
    ("2 Lot Road", "", "2 LOT RD|"),  # a designator word as the street's first word stays
    ("2 O'Brien Lane", "", "2 OBRIEN LN|"),
    ("Main Street", "", ""),  # no house number: nothing to match a building on
    ("123", "", ""),  # no street
    ("", "", ""),
])
def test_normalize_address_text(text, community, expected):
    assert normalize_address_text(text, community) == expected


@pytest.mark.parametrize(("fields", "expected"), [
    (("123", "", "N", "MAIN ST", "DEMO CITY"), "123 N MAIN ST|DEMO CITY"),
    (("123", None, None, "MAIN ST", None), "123 MAIN ST|"),
    ((" 123", "A", "", "MAIN ST", ""), "123A MAIN ST|"),
    (("123", "1/2", "", "MAIN ST", ""), "123 1/2 MAIN ST|"),
    (("4410", "", "N", "ACADEMY BLVD", "DEMO CITY"), "4410 N ACADEMY BLVD|DEMO CITY"),
    (("50", "", "SW", "3RD AVE", ""), "50 SW 3RD AVE|"),
    (("50", "", "S", "WEST 3RD AVENUE", ""), "50 SW 3RD AVE|"),
    (("", "", "", "MAIN ST - NE SECTOR", "DEMO CITY"), ""),  # wireless sector: no house number
    (("123", "", "N", "", ""), ""),  # a directional alone is not a street
    (("12 34", "", "", "MAIN ST", ""), ""),  # two numbers in the house field: not a house number
])
def test_normalize_address_fields(fields, expected):
    assert normalize_address(*fields) == expected


@pytest.mark.parametrize(("text", "fields"), [
    ("123 North Main Street Apt 4", ("123", "", "N", "MAIN ST")),
    ("2739 East Justice Way", ("2739", "", "E", "JUSTICE WAY")),
    ("1000 Oak Valley Drive", ("1000", "", "", "OAK VALLEY DR")),
    ("17B West Fifth Avenue", ("17", "B", "W", "5TH AVE")),
])
def test_written_out_address_matches_ali_fields(text, fields):
    assert normalize_address_text(text, "Demo City") == normalize_address(*fields, "DEMO CITY") != ""


_STREET_WORDS = st.sampled_from(["MAIN", "OAK", "VALLEY", "ELM", "PINE", "CREEK", "JUSTICE", "ACADEMY", "1ST"])
_TYPES = {"ST": "Street", "AVE": "Avenue", "RD": "Road", "DR": "Drive", "BLVD": "Boulevard", "LN": "Lane",
          "CT": "Court", "PL": "Place", "PKWY": "Parkway", "HWY": "Highway", "CIR": "Circle", "TER": "Terrace"}
_DIRS = {"": "", "N": "North", "S": "South", "E": "East", "W": "West", "NE": "Northeast", "SW": "South West"}


@settings(max_examples=200, deadline=None)
@given(house=st.integers(1, 99999), prefix=st.sampled_from(sorted(_DIRS)),
       words=st.lists(_STREET_WORDS, min_size=1, max_size=3), kind=st.sampled_from(sorted(_TYPES)),
       unit=st.sampled_from(["", " Apt 3", " #12", ", Unit 4", " Suite 200"]))
def test_spelled_out_and_abbreviated_give_one_key(house, prefix, words, kind, unit):
    """However a human writes it, it keys like the ALI fields."""
    from_ali = normalize_address(str(house), "", prefix, f"{' '.join(words)} {kind}", "DEMO CITY")
    written = f"{house} {_DIRS[prefix]} {' '.join(w.title() for w in words)} {_TYPES[kind]}{unit}"
    assert normalize_address_text(written, "demo city") == from_ali


# ---- import ---------------------------------------------------------------------------------------------

def write(path: Path, text: str, *, bom: bool = False) -> Path:
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def table(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT phone, address_key, address, name, category, notes, source_line FROM registry ORDER BY id"
        ).fetchall()


def imports(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT source, sha256, rows, problems FROM registry_imports ORDER BY id").fetchall()


def test_import_good_rows(tmp_path):
    csv_file = write(tmp_path / "reg.csv", HEADER
                     + '(719) 555-0101,1000 Oak Valley Drive,Demo City,"Doe, John",oxygen in use,"Oxygen, no flame"\n'
                     + ',123 North Main Street Apt 4,,Kid,wander risk,Runs to the creek\n'
                     + '719.555.0199,,,Chris,special needs,\n')
    db = tmp_path / "store.sqlite3"
    result = import_registry_csv(db, csv_file)
    assert (result.rows, result.skipped, result.problems, result.status) == (3, 0, [], "imported")
    assert table(db) == [
        ("7195550101", "1000 OAK VALLEY DR|DEMO CITY", "1000 Oak Valley Drive", "Doe, John", "oxygen in use",
         "Oxygen, no flame", 2),
        ("", "123 N MAIN ST|", "123 North Main Street Apt 4", "Kid", "wander risk", "Runs to the creek", 3),
        ("7195550199", "", "", "Chris", "special needs", "", 4),
    ]
    [(source, sha, rows, problems)] = imports(db)
    assert (source, rows, problems) == (str(csv_file.resolve()), 3, "")
    assert len(sha) == 64


def test_bad_rows_are_reported_with_their_line_and_the_rest_imported(tmp_path):
    csv_file = write(tmp_path / "reg.csv", HEADER
                     + "7195550101,,,A,,\n"                           # line 2: fine
                     + ",,,Nobody,special needs,\n"                   # line 3: neither phone nor address
                     + "\n"                                           # line 4: blank, ignored
                     + '7195550102,,,B,,"two\nlines"\n'               # lines 5-6: fine, notes span lines
                     + "555-0101,Main Street,,C,,\n"                  # line 7: neither usable
                     + "call me,12 Elm St,,D,,\n"                     # line 8: phone bad, address kept
                     + "7195550103,12 Elm St,,E,,notes,extra\n")      # line 9: too many cells
    db = tmp_path / "store.sqlite3"
    result = import_registry_csv(db, csv_file)
    name = str(csv_file)
    assert result.status == "imported"
    assert (result.rows, result.skipped) == (3, 3)
    assert result.problems == [
        f"{name}:3: neither phone nor address; row skipped",
        (f"{name}:7: phone '555-0101' is not a 10-digit number and address 'Main Street' has no house number "
         "and street; row skipped"),
        f"{name}:8: phone 'call me' is not a 10-digit number; matched by address only",
        f"{name}:9: 7 cells but the header names 6; row skipped (put text containing commas in double quotes)",
    ]
    assert [(row[3], row[6]) for row in table(db)] == [("A", 2), ("B", 5), ("D", 8)]
    assert imports(db)[0][3] == "\n".join(result.problems)


def test_header_is_case_insensitive_in_any_order_and_bom_tolerated(tmp_path):
    csv_file = write(tmp_path / "reg.csv", "Name,NOTES,Address,Phone,Category,Community\n"
                     "Kid,runs,123 Main St,,wander risk,Demo City\n", bom=True)
    db = tmp_path / "store.sqlite3"
    result = import_registry_csv(db, csv_file)
    assert (result.rows, result.problems) == (1, [])
    assert table(db) == [("", "123 MAIN ST|DEMO CITY", "123 Main St", "Kid", "wander risk", "runs", 2)]


def test_misspelt_column_is_reported(tmp_path):
    csv_file = write(tmp_path / "reg.csv", "phone,adress,name\n7195550101,1 Main St,A\n")
    result = import_registry_csv(tmp_path / "store.sqlite3", csv_file)
    assert result.rows == 1
    assert result.problems == [(f"{csv_file}:1: column 'adress' is not used "
                                "(known columns: phone, address, community, name, category, notes)")]


def test_undecodable_bytes_skip_that_row_only(tmp_path):
    csv_file = tmp_path / "reg.csv"
    csv_file.write_bytes(HEADER.encode() + b"7195550101,12 \xe9lm St,,A,,\n7195550102,,,B,,\n")
    db = tmp_path / "store.sqlite3"
    result = import_registry_csv(db, csv_file)
    assert (result.rows, result.skipped) == (1, 1)
    assert result.problems == [(f"{csv_file}:2: byte 0xE9 in column 'address' is not UTF-8; row skipped "
                                "(save the file as UTF-8)")]
    assert [row[3] for row in table(db)] == ["B"]


@pytest.mark.parametrize(("content", "problem"), [
    (b"", "{f}: the file is empty; it needs a header row (phone, address, community, name, category, notes)"),
    (b"7195550101,1 Main St,A\n", ("{f}:1: the first row must name the columns (phone, address, community, name, "
                                   "category, notes) and include phone or address; found '7195550101', "
                                   "'1 main st', 'a'")),
    (b"phone;address;name\n7195550101;1 Main St;A\n", ("{f}:1: the first row must name the columns (phone, "
                                                       "address, community, name, category, notes) and include "
                                                       "phone or address; found 'phone;address;name'")),
    (b"phone,phone\n1,2\n", "{f}:1: column 'phone' appears more than once in the header"),
])
def test_unusable_file_leaves_the_table_as_it_was(tmp_path, content, problem):
    db = tmp_path / "store.sqlite3"
    good = write(tmp_path / "good.csv", HEADER + "7195550101,,,Kept,,\n")
    assert import_registry_csv(db, good).rows == 1
    bad = tmp_path / "bad.csv"
    bad.write_bytes(content)
    result = import_registry_csv(db, bad)
    assert (result.status, result.rows, result.problems) == ("refused", 1, [problem.format(f=bad)])
    assert [row[3] for row in table(db)] == ["Kept"]
    assert len(imports(db)) == 1  # a refused file is not recorded as the registry in use


def test_a_file_with_no_usable_row_does_not_wipe_the_registry(tmp_path):
    db = tmp_path / "store.sqlite3"
    import_registry_csv(db, write(tmp_path / "good.csv", HEADER + "7195550101,,,Kept,,\n"))
    bad = write(tmp_path / "bad.csv", HEADER + ",,,Nobody,,\nfoo,,,Nobody,,\n")
    result = import_registry_csv(db, bad)
    assert (result.status, result.rows, result.skipped) == ("refused", 1, 2)
    assert result.problems[-1] == f"{bad}: no usable row; the registry was left as it was"
    assert [row[3] for row in table(db)] == ["Kept"]


def test_header_only_file_empties_the_registry(tmp_path):
    db = tmp_path / "store.sqlite3"
    csv_file = write(tmp_path / "reg.csv", HEADER + "7195550101,,,A,,\n")
    import_registry_csv(db, csv_file)
    write(csv_file, HEADER)
    result = import_registry_csv(db, csv_file)
    assert (result.status, result.rows) == ("imported", 0)
    assert table(db) == []


def test_missing_file_is_a_problem_not_a_crash(tmp_path):
    result = import_registry_csv(tmp_path / "store.sqlite3", tmp_path / "nowhere.csv")
    assert result.status == "refused"
    assert result.problems == [f"{tmp_path / 'nowhere.csv'}: cannot read the registry file: No such file or directory"]


def test_same_file_again_is_skipped_and_a_changed_file_replaces(tmp_path):
    db = tmp_path / "store.sqlite3"
    csv_file = write(tmp_path / "reg.csv", HEADER + "7195550101,,,Old one,,\n7195550102,,,Old two,,\n,,,Bad,,\n")
    first = import_registry_csv(db, csv_file)
    assert (first.status, first.rows, first.skipped) == ("imported", 2, 1)

    again = import_registry_csv(db, csv_file)
    assert (again.status, again.rows, again.skipped) == ("unchanged", 2, 1)
    assert again.problems == first.problems  # still shown to the technician on every start
    assert len(imports(db)) == 1

    write(csv_file, HEADER + "7195550109,,,New,,\n")
    changed = import_registry_csv(db, csv_file)
    assert (changed.status, changed.rows) == ("imported", 1)
    assert [row[3] for row in table(db)] == ["New"]
    assert [row[2] for row in imports(db)] == [2, 1]


def test_same_bytes_from_another_file_after_a_different_import_is_imported(tmp_path):
    db = tmp_path / "store.sqlite3"
    a = write(tmp_path / "a.csv", HEADER + "7195550101,,,A,,\n")
    b = write(tmp_path / "b.csv", HEADER + "7195550102,,,B,,\n")
    assert import_registry_csv(db, a).status == "imported"
    assert import_registry_csv(db, b).status == "imported"
    # The table now holds b's rows, so a is not "unchanged" even though a was imported before.
    assert import_registry_csv(db, a).status == "imported"
    assert [row[3] for row in table(db)] == ["A"]


def test_old_store_is_migrated_before_import(tmp_path):
    db = tmp_path / "store.sqlite3"
    with sqlite3.connect(db, isolation_level=None) as conn:
        assert migrate(conn, MIGRATIONS[:1]) == 1
    csv_file = write(tmp_path / "reg.csv", HEADER + "7195550101,,,A,,\n")
    assert import_registry_csv(db, csv_file).rows == 1
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_load_from_a_store_without_the_table_says_so(tmp_path):
    db = tmp_path / "store.sqlite3"
    with sqlite3.connect(db, isolation_level=None) as conn:
        migrate(conn, MIGRATIONS[:1])
    with pytest.raises(StoreError, match="has no registry table yet"):
        RegistryIndex.load(db)


def test_import_while_the_store_writer_is_writing(tmp_path):
    """The console's writer keeps its connection open; the import takes the lock between its batches."""
    db = tmp_path / "store.sqlite3"
    writer = StoreWriter(db)
    writer.start()
    try:
        for n in range(200):
            writer.log_event("test", detail=str(n))
        csv_file = write(tmp_path / "reg.csv", HEADER + "".join(f"71955502{n:02d},,,P{n},,\n" for n in range(50)))
        result = import_registry_csv(db, csv_file)
        for n in range(200, 400):
            writer.log_event("test", detail=str(n))
        assert writer.flush(10.0)
    finally:
        assert writer.stop()
    assert result.rows == 50
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM events WHERE kind = 'test'").fetchone()[0] == 400
    assert len(RegistryIndex.load(db)) == 50


# ---- matching -----------------------------------------------------------------------------------------

@pytest.fixture
def index(tmp_path) -> RegistryIndex:
    csv_file = write(tmp_path / "reg.csv", HEADER
                     + "(719) 555-0101,,,By phone,oxygen in use,O2\n"                      # line 2
                     + ",123 North Main Street Apt 4,,Anywhere,wander risk,W\n"            # line 3
                     + ",123 North Main Street,Demo City,In Demo City,premise hazard,P\n"  # line 4
                     + ",123 North Main Street,Other Town,In Other Town,premise hazard,X\n"  # line 5
                     + "719-555-0102,500 Elm Ave,Demo City,Both,special needs,S\n")        # line 6
    db = tmp_path / "store.sqlite3"
    import_registry_csv(db, csv_file)
    return RegistryIndex.load(db)


def names(matches) -> list[tuple[str, str]]:
    return [(m.name, m.matched_on) for m in matches]


def test_match_by_phone_in_any_format(index):
    for phone in ("7195550101", "(719) 555-0101", "+1 719 555 0101"):
        [match] = index.match(phones=[phone], address_key="")
        assert (match.name, match.category, match.notes, match.phone, match.matched_on, match.source_line) == \
            ("By phone", "oxygen in use", "O2", "7195550101", "phone", 2)


def test_match_by_address_written_differently(index):
    record = {"ani": "7195550999", "house_number": "123", "prefix_directional": "N", "street": "MAIN ST",
              "community": "DEMO CITY", "class_of_service": "RESD"}
    assert address_key_for_record(record) == "123 N MAIN ST|DEMO CITY"
    matches = index.match_record(record)
    assert names(matches) == [("Anywhere", "address"), ("In Demo City", "address")]
    assert matches[0].address == "123 North Main Street Apt 4"
    assert matches[1].community == "DEMO CITY"


def test_no_match_for_another_house_number(index):
    for house in ("12", "1234", "124", "123A"):
        key = normalize_address(house, "", "N", "MAIN ST", "DEMO CITY")
        assert index.match(phones=["7195550999"], address_key=key) == ()


def test_no_match_for_another_directional_or_street(index):
    assert index.match(address_key=normalize_address("123", "", "S", "MAIN ST", "DEMO CITY")) == ()
    assert index.match(address_key=normalize_address("123", "", "N", "MAIN AVE", "DEMO CITY")) == ()


def test_community_must_agree_when_both_have_one(index):
    other = index.match(address_key=normalize_address("123", "", "N", "MAIN ST", "Other Town"))
    assert names(other) == [("Anywhere", "address"), ("In Other Town", "address")]
    unknown = index.match(address_key=normalize_address("123", "", "N", "MAIN ST", ""))
    assert names(unknown) == [("Anywhere", "address"), ("In Demo City", "address"), ("In Other Town", "address")]


def test_phone_and_address_together_rank_first(index):
    record = {"ani": "7195550102", "house_number": "500", "street": "ELM AVENUE", "community": "Demo City",
              "class_of_service": "BUSN"}
    assert names(index.match_record(record)) == [("Both", "phone+address")]
    both = index.match(phones=["7195550101", "7195550102"], address_key=address_key_for_record(record))
    assert names(both) == [("Both", "phone+address"), ("By phone", "phone")]


def test_wireless_matches_by_callback_number_not_by_tower_address(index):
    record = {"ani": "7195550888", "callback": "7195550101", "class_of_service": "WPH1", "house_number": "123",
              "prefix_directional": "N", "street": "MAIN ST", "community": "DEMO CITY"}
    assert address_key_for_record(record) == ""
    assert phones_for_record(record) == ["7195550888", "7195550101"]
    assert names(index.match_record(record)) == [("By phone", "phone")]


def test_empty_record_matches_nothing(index):
    assert index.match_record({}) == ()
    assert index.match(phones=["", None], address_key="") == ()


def test_demo_registry_flags_the_demo_callers(tmp_path):
    """The shipped demo CSV matches the simulated phone system's callers, parsed with the 30W layout."""
    db = tmp_path / "store.sqlite3"
    result = import_registry_csv(db, DEMO_REGISTRY)
    assert (result.status, result.skipped, result.problems) == ("imported", 0, [])
    index = RegistryIndex.load(db)
    found = {}
    for record in DEMO_RECORDS + (rebid_of(DEMO_RECORDS[2]),):
        [parsed] = parse_stream(frame(format_30w(record, "211 ")), "30w")
        assert parsed["kind"] == "ali", parsed["errors"]
        found.setdefault(record.ani, []).extend(
            (m.category, m.matched_on) for m in index.match_record(parsed["record"]))
    assert found == {
        "7195550101": [("oxygen in use", "phone+address")],
        "7195550102": [("wander risk", "address")],  # written "4410 North Academy Boulevard, Building C"
        "7195550103": [],
        "7195550104": [("special needs", "phone")],  # the wireless callback number
        "7195550105": [],  # 250 Center Avenue is in the registry, but for Other Town
        "7195550106": [("premise hazard", "address")],
    }


def test_match_is_a_dict_lookup():
    """Matching runs on the control thread at answer: 20,000 entries must not slow it down."""
    rows = [RegistryRow(f"719{n:07d}", f"{n} MAIN ST|DEMO CITY", f"{n} Main St", f"P{n}", "special needs", "", n)
            for n in range(20_000)]
    index = RegistryIndex(rows)
    key = normalize_address("12345", "", "", "MAIN ST", "DEMO CITY")
    start = time.perf_counter()
    for _ in range(1000):
        matches = index.match(phones=["7190012345", "7195550999"], address_key=key)
    per_match = (time.perf_counter() - start) / 1000
    assert names(matches) == [("P12345", "phone+address")]
    assert per_match < 0.002, f"{per_match * 1e6:.0f} µs per match"  # measured ~6-10 µs
