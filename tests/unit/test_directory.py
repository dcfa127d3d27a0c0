"""Transfer directory: loading the CSV (problems with line numbers), search ranking, dial strings."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.calls.directory import DirectoryEntry, dial_string, load_directory, parse_directory_csv, search

ROOT = Path(__file__).resolve().parents[2]
DEMO_DIRECTORY = ROOT / "assets/directory/demo-directory.csv"

ENTRIES = (
    DirectoryEntry("Jacksonville Fire and Rescue Department", "(904) 555-0120", "fire", "", (), 2),
    DirectoryEntry("Little Rock Police Department", "(501) 555-0121", "police", "ask for the watch desk", (), 3),
    DirectoryEntry("Little Rock Fire Department", "(501) 555-0122", "fire", "", (), 4),
    DirectoryEntry("Metropolitan Emergency Medical Services", "(501) 555-0123", "EMS", "", ("MEMS",), 5),
    DirectoryEntry("Poison Control Center", "(502) 555-0124", "poison control", "", (), 6),
    DirectoryEntry("Rock Creek Water", "(501) 555-0125", "utility", "after hours: press 2", (), 7),
    DirectoryEntry("Crisis Line", "988", "crisis line", "", (), 8),
)


def names(found: list[DirectoryEntry]) -> list[str]:
    return [entry.name for entry in found]


# ---- search ---------------------------------------------------------------------------------------

def test_empty_search_lists_everything_in_file_order():
    assert search(ENTRIES, "") == list(ENTRIES)
    assert search(ENTRIES, "   ") == list(ENTRIES)


@pytest.mark.parametrize(("text", "first"), [
    ("JFRD", "Jacksonville Fire and Rescue Department"),  # initials, "and" left out
    ("jfrd", "Jacksonville Fire and Rescue Department"),
    ("LRPD", "Little Rock Police Department"),
    ("lrfd", "Little Rock Fire Department"),
    ("mems", "Metropolitan Emergency Medical Services"),  # alias
    ("M.E.M.S.", "Metropolitan Emergency Medical Services"),
])
def test_alias_or_initials_come_first(text, first):
    found = search(ENTRIES, text)
    assert names(found)[0] == first


def test_exact_initials_beat_word_prefixes():
    # "rock" is a word prefix of three names; nothing has the initials ROCK, so file order among them.
    assert names(search(ENTRIES, "rock")) == [
        "Little Rock Police Department", "Little Rock Fire Department", "Rock Creek Water"]
    # "lr" starts the initials LRPD and LRFD (rank 1) before any word starting with "lr" (none).
    assert names(search(ENTRIES, "lr")) == ["Little Rock Police Department", "Little Rock Fire Department"]


def test_word_prefixes_in_any_order():
    assert names(search(ENTRIES, "lit ro pol")) == ["Little Rock Police Department"]
    assert names(search(ENTRIES, "fire rock")) == ["Little Rock Fire Department"]
    assert names(search(ENTRIES, "Fire")) == [
        "Jacksonville Fire and Rescue Department", "Little Rock Fire Department"]


def test_name_words_rank_above_category_and_notes_words():
    # "pol" starts a name word of LRPD; it is only inside "Metropolitan" (a substring, ranked lower).
    assert names(search(ENTRIES, "pol")) == ["Little Rock Police Department", "Metropolitan Emergency Medical Services"]
    sheriff = DirectoryEntry("County Sheriff", "(501) 555-0130", "police")
    city = DirectoryEntry("City Police", "(501) 555-0131", "police")
    assert search((sheriff, city), "police") == [city, sheriff]  # name word before category word
    assert names(search(ENTRIES, "utility")) == ["Rock Creek Water"]
    assert names(search(ENTRIES, "watch desk")) == ["Little Rock Police Department"]


def test_substring_after_word_matches():
    # "ock" starts no word; it is inside "Rock" in three names.
    assert names(search(ENTRIES, "ock")) == [
        "Little Rock Police Department", "Little Rock Fire Department", "Rock Creek Water"]
    assert names(search(ENTRIES, "press 2")) == ["Rock Creek Water"]


def test_digits_of_the_number_match_last():
    assert names(search(ENTRIES, "0122")) == ["Little Rock Fire Department"]
    assert names(search(ENTRIES, "555-0124")) == ["Poison Control Center"]
    assert names(search(ENTRIES, "(501) 555")) == [
        "Little Rock Police Department", "Little Rock Fire Department",
        "Metropolitan Emergency Medical Services", "Rock Creek Water"]
    assert names(search(ENTRIES, "988")) == ["Crisis Line"]


def test_no_match_is_an_empty_list():
    assert search(ENTRIES, "zzz") == []
    assert search(ENTRIES, "12") == []  # two digits are too few to search numbers by


# ---- dial strings -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("number", "dialled"), [
    ("(502) 267-0503", "5022670503"),
    ("910-938-7585", "9109387585"),
    ("1 (800) 222-5555", "18002225555"),
    ("+1 502 555 0100", "15025550100"),
    ("502.555.0100", "5025550100"),
    ("988", "988"),
    ("(502) 555-0100 x12", "5025550100,12"),
    ("(502) 555-0100 ext. 12", "5025550100,12"),
    ("5025550100,,3", "5025550100,,3"),
    ("*67 555 0100", "*675550100"),
])
def test_dial_string(number, dialled):
    assert dial_string(number) == dialled


@pytest.mark.parametrize("number", ["", "call the desk", "1-800-FLOWERS", "--", "502;555"])
def test_dial_string_refuses_what_is_not_a_number(number):
    with pytest.raises(ValueError, match="is not a number to dial"):
        dial_string(number)


# ---- loading --------------------------------------------------------------------------------------------

def test_load_with_aliases_comments_and_bom(tmp_path):
    path = tmp_path / "dir.csv"
    path.write_bytes(
        "\ufeff# comment line\nAgency,Phone,Agency Type,Notes,Aliases\n"
        'Little Rock Police Department,(501) 555-0121,police,"ask for the desk, then wait",LRPD; LR Police\n'
        "\n"
        "Rock Creek Water,(501) 555-0125,utility,,\n".encode("utf-8"))
    entries, problems = load_directory(path)
    assert problems == []
    assert entries == (
        DirectoryEntry("Little Rock Police Department", "(501) 555-0121", "police", "ask for the desk, then wait",
                       ("LRPD", "LR Police"), 3),
        DirectoryEntry("Rock Creek Water", "(501) 555-0125", "utility", "", (), 5),
    )
    assert names(search(entries, "lr police")) == ["Little Rock Police Department"]


def test_bad_rows_are_reported_and_the_rest_load(tmp_path):
    text = ("name,number,category\n"
            "Good,(501) 555-0121,police\n"      # 2
            ",(501) 555-0122,fire\n"            # 3: no name
            "No number,,fire\n"                 # 4
            "Vanity,1-800-FLOWERS,shop\n"       # 5
            "Shifted,Rock, Creek,555-0100\n"    # 6: unquoted comma
            "Also good,988,crisis\n"            # 7
            "notes,1,2,3\n")                    # 8: too many cells
    entries, problems = parse_directory_csv(text, "dir.csv")
    assert names(list(entries)) == ["Good", "Also good"]
    assert [entry.source_line for entry in entries] == [2, 7]
    assert problems == [
        "dir.csv:3: no name; row skipped",
        "dir.csv:4: 'No number' has no number; row skipped",
        "dir.csv:5: '1-800-FLOWERS' is not a number to dial (digits, * # , and ( ) - . / + only); row skipped",
        "dir.csv:6: 4 cells but the header names 3; row skipped (put text containing commas in double quotes)",
        "dir.csv:8: 4 cells but the header names 3; row skipped (put text containing commas in double quotes)",
    ]


@pytest.mark.parametrize(("text", "problem"), [
    ("", "dir.csv: the file has no header row (name, number, category, notes, keys)"),
    ("Good,(501) 555-0121\n", ("dir.csv:1: the first row must be the header with columns name and number; "
                               "found 'Good', '(501) 555-0121'")),
    ("name,number,phone\n", "dir.csv:1: column 'number' is named twice in the header"),
])
def test_unusable_header(text, problem):
    entries, problems = parse_directory_csv(text, "dir.csv")
    assert entries == ()
    assert problems[-1] == problem


def test_unknown_column_is_reported():
    entries, problems = parse_directory_csv("name,number,fax\nA,988,1\n", "dir.csv")
    assert names(list(entries)) == ["A"]
    assert problems == ["dir.csv:1: column 'fax' is not used (known: name, number, category, notes, keys)"]


def test_missing_and_undecodable_files(tmp_path):
    assert load_directory(tmp_path / "none.csv") == (
        (), [f"{tmp_path / 'none.csv'}: cannot read the directory file: No such file or directory"])
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"name,number\nCaf\xe9,988\n")
    assert load_directory(path) == ((), [f"{path}:2: byte 0xE9 is not UTF-8; save the file as UTF-8"])


def test_demo_directory_loads_clean_and_finds_agencies_by_their_short_names():
    entries, problems = load_directory(DEMO_DIRECTORY)
    assert problems == []
    assert len(entries) > 40
    assert names(search(entries, "JTPD"))[0] == "Jeffersontown Police"
    assert names(search(entries, "LMPD"))[0] == "Louisville Metro Police"
    assert names(search(entries, "0503"))[0] == "Jeffersontown Police"
    assert dial_string(search(entries, "KSP")[0].number) == "18002225555"
    demo = [entry for entry in entries if entry.name.startswith("Demo ")]
    assert demo, "the Demo County entries are missing"
    for entry in demo:
        assert entry.number.startswith("(719) 555-01") and "FICTIONAL" in entry.notes
