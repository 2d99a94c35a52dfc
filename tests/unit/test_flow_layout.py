"""Each flow's nested stack is recorded once and never moves (flowkit/language/layout.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flowkit.language.files import FlowError, load_flows
from flowkit.language.layout import LAYOUT_FILE, Placement, place, read_layout, record
from tests.generated_deployment import menu_doc, module_doc, queue_flow_doc


def _write(directory: Path, *docs: dict) -> None:  # type: ignore[type-arg]
    directory.mkdir(parents=True, exist_ok=True)
    for doc in docs:
        (directory / f"{doc['Metadata']['name']}.json").write_text(json.dumps(doc), encoding="utf-8")


def _menu(name: str, *, module: str | None = None, sub: str | None = None) -> dict:  # type: ignore[type-arg]
    return menu_doc(name, module=module, queue="q", queue_flow="hold", sub_flow=sub, hours="h")


def test_a_new_flow_sits_above_everything_it_references(tmp_path: Path) -> None:
    # GIVEN a module, a queue flow, a menu using both and a main menu transferring to the menu
    _write(
        tmp_path, module_doc("greet"), queue_flow_doc("hold"), _menu("sub", module="greet"), _menu("main", sub="sub")
    )
    # WHEN placed with nothing recorded
    placed = place(load_flows(tmp_path), 8, {}, "layout")
    # THEN each is one level above the deepest thing it references
    assert {n: p.level for n, p in placed.items()} == {"greet": 0, "hold": 0, "sub": 1, "main": 2}


def test_a_recorded_flow_keeps_its_stack_when_what_it_references_changes(tmp_path: Path) -> None:
    # GIVEN a recorded layout, then a new module that the (recorded) queue-level menu now invokes
    _write(tmp_path, queue_flow_doc("hold"), _menu("main"))
    recorded = place(load_flows(tmp_path), 8, {}, "layout")
    assert recorded["main"].level == 1
    _write(tmp_path, module_doc("greet"), _menu("main", module="greet"))
    # WHEN placed again against the record
    placed = place(load_flows(tmp_path), 8, recorded, "layout")
    # THEN the recorded menu stays where it was (the new module sits below it) and the module is new
    assert placed["main"] == recorded["main"] and placed["greet"].level == 0


def test_a_change_that_would_move_a_recorded_flow_is_refused_naming_both(tmp_path: Path) -> None:
    # GIVEN a level-0 queue flow and a level-1 menu, recorded; then the menu transfers to a new level-1 sub-menu
    _write(tmp_path, queue_flow_doc("hold"), _menu("sub"), _menu("main"))
    recorded = place(load_flows(tmp_path), 8, {}, "layout")
    _write(tmp_path, _menu("main", sub="sub"))
    # WHEN placed against the record THEN the move (which would replace "main") is refused, naming both flows
    with pytest.raises(FlowError, match=r"main\.json: recorded in nested stack L1G\d \(layout\).*references sub"):
        place(load_flows(tmp_path), 8, recorded, "layout")


def test_the_record_is_written_only_when_it_changes_and_drops_removed_flows(tmp_path: Path) -> None:
    # GIVEN two flows placed and recorded
    _write(tmp_path, queue_flow_doc("hold"), _menu("main"))
    placed = place(load_flows(tmp_path), 8, {}, "layout")
    assert record(tmp_path, placed) is True
    # WHEN recorded again unchanged THEN nothing is written; WHEN a flow is gone THEN its entry goes too
    assert record(tmp_path, placed) is False
    assert record(tmp_path, {"hold": placed["hold"]}) is True
    assert read_layout(tmp_path) == {"hold": placed["hold"]}


@pytest.mark.parametrize("text", ["[1, 2]", "main: somewhere", "main: [L1G2]", ": ["])
def test_a_broken_layout_file_is_named(tmp_path: Path, text: str) -> None:
    # GIVEN a LAYOUT.yaml that is not a mapping of names to stack ids WHEN read THEN the error names the file
    (tmp_path / LAYOUT_FILE).write_text(text, encoding="utf-8")
    with pytest.raises(FlowError, match=LAYOUT_FILE):
        read_layout(tmp_path)


def test_placements_read_back_as_written(tmp_path: Path) -> None:
    placements = {"a:b": Placement(0, 3), "menu-1": Placement(2, 7)}
    record(tmp_path, placements)
    assert read_layout(tmp_path) == placements
