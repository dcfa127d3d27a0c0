from __future__ import annotations

from pathlib import Path

import pytest

from app.console.unit_aliases import UnitAliasError, load_unit_aliases, parse_unit_aliases, unit_key


def test_units_are_looked_up_in_their_canonical_form() -> None:
    aliases, problems = parse_unit_aliases("unit,name\n1101,Engine 1\n1a2,Medic 2\n0x00FF,Chief\n12345,Rescue 5\n",
                                           "units.csv")
    assert problems == []
    assert aliases.name("1101") == "Engine 1"
    assert aliases.name("01A2") == "Medic 2"
    assert aliases.name("00ff") == "Chief"
    assert aliases.name("12345") == "Rescue 5"
    assert aliases.name("9999") == ""
    assert aliases.name("") == ""
    assert unit_key("abc") == "0ABC"


def test_bad_rows_are_reported_with_file_and_line_and_the_rest_load() -> None:
    text = ("# comment\n"
            "1101,Engine 1\n"
            "zzzz,Bad\n"
            "1102\n"
            "1103,Engine, 3\n"
            "1101,Again\n"
            "\n"
            f"1104,{'x' * 60}\n"
            "1105,\"Ladder, 5\"\n")
    aliases, problems = parse_unit_aliases(text, "units.csv")
    assert aliases.names == {"1101": "Engine 1", "1105": "Ladder, 5"}
    assert [p.split(": ")[0] for p in problems] == ["units.csv:3", "units.csv:4", "units.csv:5", "units.csv:6",
                                                      "units.csv:8"]
    assert "already named 'Engine 1' on line 2" in problems[3]


def test_unreadable_files_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(UnitAliasError, match="missing.csv: cannot read"):
        load_unit_aliases(tmp_path / "missing.csv")
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"1101,Engine 1\n1102,\xff\xfe\n")
    with pytest.raises(UnitAliasError, match=r"bad.csv:2: not UTF-8"):
        load_unit_aliases(bad)
    good = tmp_path / "good.csv"
    good.write_text("unit,name\n2101,Medic 1\n", encoding="utf-8-sig")
    aliases, problems = load_unit_aliases(good)
    assert aliases.name("2101") == "Medic 1" and not problems
