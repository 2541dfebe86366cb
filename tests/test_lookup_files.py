"""Lookup files and value maps as a mapping's author writes them: a name with no value is
refused at start-up, and an empty location is called "merged cells?" only when the file's
own cell is blank."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from runs import drop, result_rows, run

from etl.config import Settings
from etl.errors import MappingError
from etl.mapping import load_mapping
from etl.session import all_mappings

GODOWNS = "Marg godown,Fynd location\nMain Godown,DEL-WH-01\nBandra Shop,\nIndiranagar,BLR-ST-03\n"
STOCK = """
feed: stock
fields:
  location_id:
    column: Godown
    transforms: [strip, {TRANSFORM}]
  sku: Item Code
  quantity: {column: Cl. Qty, transforms: [integer]}
"""
LOOKUP = "{lookup: lookups_marg.csv, from: Marg godown, to: Fynd location}"


def mapping(tmp_path: Path, transform: str) -> Path:
    path = tmp_path / "mappings" / "marg" / "stock.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(STOCK).lstrip().replace("{TRANSFORM}", transform))
    return path


def refused(path: Path) -> MappingError:
    with pytest.raises(MappingError) as caught:
        load_mapping(path, path.parents[1])
    return caught.value


def test_a_lookup_line_without_a_value_is_refused_at_start_up(tmp_path: Path) -> None:
    """Its rows were rejected later, "location is empty ... merged cells?", beside a filled
    cell."""
    path = mapping(tmp_path, LOOKUP)
    (path.parents[1] / "lookups_marg.csv").write_text(GODOWNS, encoding="utf-8")
    error = refused(path)
    assert (error.file, error.line, error.key) == ("lookups_marg.csv", 3, "Fynd location")
    assert error.problem == (
        "'Bandra Shop' has no 'Fynd location': fill it in or delete the line (a lookup file of"
        f" mapping marg/stock.yaml, in {path.parents[1]})"
    )


def test_a_blank_line_in_a_lookup_file_is_no_mistake(tmp_path: Path) -> None:
    path = mapping(tmp_path, LOOKUP)
    text = "Marg godown,Fynd location\nMain Godown,DEL-WH-01\n,\n\nBandra Shop,MUM-ST-02\n"
    (path.parents[1] / "lookups_marg.csv").write_text(text, encoding="utf-8")
    assert load_mapping(path, path.parents[1]).feed == "stock"


def test_a_value_map_entry_mapping_to_nothing_is_refused_at_start_up(tmp_path: Path) -> None:
    path = mapping(tmp_path, "{map: {Main Godown: DEL-WH-01, Bandra Shop: ''}}")
    error = refused(path)
    assert (error.line, error.key) == (5, "fields.location_id.transforms[1].map.Bandra Shop")
    assert (
        error.problem == "'Bandra Shop' maps to nothing (''): write the value, or delete the line"
    )


def test_a_filled_cell_a_transform_empties_is_not_called_merged(
    tmp_path: Path, sandbox: Any
) -> None:
    """A '--' the mapping's replace turns into nothing: the cell is filled, no merge to fix."""
    inbox = tmp_path / "inbox"
    mapping(inbox, "{replace: '^-+$'}")
    (inbox / "konnect-etl.yaml").write_text("mappings: ./mappings\n")
    rows = [["Godown", "Item Code", "Cl. Qty"], ["DEL-WH-01", "TS-BLK-S", 1]]
    drop(inbox, "stock.csv", [*rows, ["--", "TS-BLK-M", 2], ["", "TS-BLK-L", 3]])
    assert run(inbox, sandbox).exit_code == 1
    done = result_rows(next((inbox / "done").glob("*/stock.result.csv")))
    assert done["3"]["message"] == "'Godown': '--' - location is empty"
    assert done["4"]["message"].endswith(
        "merged cells? write the location on every row, as in row 2"
    )


def test_a_copied_profile_needs_its_lookup_and_replaces_the_built_in_of_its_name(
    tmp_path: Path,
) -> None:
    """What the step-by-step guide says of step 1: the shipped tally/stock copied under its
    own name into the inbox's mappings folder looks for its lookup file there, and, once
    the lookup is copied along, is the tally/stock every command uses."""
    shipped = Path(__file__).resolve().parents[1] / "mappings"
    own = tmp_path / "mappings"
    (own / "tally").mkdir(parents=True)
    (own / "tally" / "stock.yaml").write_text((shipped / "tally" / "stock.yaml").read_text())
    with pytest.raises(MappingError, match=r"lookup file 'lookups/tally_godowns\.csv' not found"):
        all_mappings(Settings(mappings_dir=own))
    (own / "lookups").mkdir()
    (own / "lookups" / "tally_godowns.csv").write_text("Tally godown,Fynd location\nA,B\n")
    [tally] = [m for m in all_mappings(Settings(mappings_dir=own)) if m.name == "tally/stock"]
    assert tally.path == own / "tally" / "stock.yaml"


def test_a_lookups_columns_are_named_as_a_files_headers_are_and_a_name_twice_is_shown(
    tmp_path: Path,
) -> None:
    """`from:`/`to:` match the lookup's header whatever its case and spaces, as a mapping's
    columns match a file's; a name listed twice says both lines, as a `map:` does."""
    path = mapping(tmp_path, "{lookup: lookups_marg.csv, from: marg  GODOWN, to: fynd location}")
    lookup = path.parents[1] / "lookups_marg.csv"
    lookup.write_text("Marg godown,Fynd location\nMain Godown,DEL-WH-01\n", encoding="utf-8")
    assert load_mapping(path, path.parents[1]).feed == "stock"
    lookup.write_text(
        "Marg godown,Fynd location\nMain Godown,DEL-WH-01\nmain  godown,MUM-ST-02\n",
        encoding="utf-8",
    )
    error = refused(path)
    assert (error.line, error.problem.split(" (a lookup file")[0]) == (
        3,
        "'Main Godown' (line 2) and 'main  godown' are the same name (case and spaces are"
        " ignored)"
        " with different values: keep one",
    )
