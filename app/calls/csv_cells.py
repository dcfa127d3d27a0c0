"""Reading the cells of one row of a site's CSV file (registry, directory) by column name (pure)."""

from __future__ import annotations

from collections.abc import Callable


def shifted_row_problem(cells: list[str], width: int, where: str) -> str | None:
    """Why a row with text beyond the header's columns is skipped, or None when it fits.

    Usually an unquoted comma inside a field: every column after it has shifted, so no cell of the
    row can be trusted.
    """
    if any(cell.strip() for cell in cells[width:]):
        return (f"{where}: {len(cells)} cells but the header names {width}; row skipped "
                "(put text containing commas in double quotes)")
    return None


def cell_reader(cells: list[str], columns: dict[str, int]) -> Callable[[str], str]:
    """column name -> that cell's text, stripped; "" for a column the file lacks or a short row."""

    def cell(column: str) -> str:
        index = columns.get(column)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    return cell
