"""Which nested stack holds each flow and module, recorded once so that no deploy moves a flow.

The flows go into nested stacks by reference level (a flow is one level above the deepest flow or module it
references, so nested stacks only take values from lower levels and never wait on each other in a cycle) and, within
a level, by a CRC-32 group of the name (``regions.config.FlowLayout``). Computed afresh, a flow's level would change
when it gains a reference to a deeper flow, or when a flow it references does: it would move to another nested
stack, and CloudFormation creates the moved flow before it deletes the old one, which Connect refuses
(DuplicateResourceException: two flows of one name).

So the placement of every flow is recorded in ``LAYOUT.yaml`` beside the flows, and a recorded flow stays where it
is: synth refuses a change that would need a flow to move, naming the flow, the reference and the way out. New
flows are placed and recorded by the synth (commit the file with them); removed ones are dropped from it.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from flowkit.language.files import FlowError, FlowFile, creation_order
from regions.yaml_files import load_yaml

LAYOUT_FILE = "LAYOUT.yaml"
_STACK_ID = re.compile(r"^L(\d+)G(\d+)$")
_HEADER = """\
# Which nested stack holds each contact flow and flow module (flowkit/language/layout.py). The synth records new
# flows here and drops removed ones: commit this file with the flows. A recorded flow never moves, since moving a
# flow between nested stacks replaces it and Connect refuses the new one while the old one of that name exists.
# L<level>G<group>: a flow's level is above every flow or module it references.
"""


@dataclass(frozen=True, order=True)
class Placement:
    """A flow's nested stack: its reference level and its group within the level."""

    level: int
    group: int

    @property
    def stack_id(self) -> str:
        return f"L{self.level}G{self.group}"


def flow_group(name: str, groups: int) -> int:
    """A new flow's group within its level: a CRC-32 of its name (unlike ``hash()``, the same in every process)."""
    return zlib.crc32(name.encode("utf-8")) % groups


def read_layout(flows_dir: Path) -> dict[str, Placement]:
    """The recorded placements of a flow folder (none when it has no ``LAYOUT.yaml``)."""
    path = flows_dir / LAYOUT_FILE
    if not path.exists():
        return {}
    try:
        raw = load_yaml(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise FlowError(f"{path}: cannot read the flow layout: {exc}") from None
    if not isinstance(raw, dict):
        raise FlowError(f"{path}: expected a mapping of flow name to nested stack (L<level>G<group>)")
    found = {}
    for name, stack in raw.items():
        match = _STACK_ID.match(str(stack))
        if match is None:
            raise FlowError(f"{path}: {name}: {stack!r} is not a nested stack id such as L0G3")
        found[str(name)] = Placement(int(match.group(1)), int(match.group(2)))
    return found


def place(flows: list[FlowFile], groups: int, recorded: Mapping[str, Placement], source: str) -> dict[str, Placement]:
    """Every flow's nested stack: the recorded one, or (a new flow) the lowest level above its references.

    Raises FlowError when a recorded flow now references a flow or module at its own level or above: it would have
    to move, which replaces it; the message names both and the way out.
    """
    placed: dict[str, Placement] = {}
    for flow in creation_order(flows):  # referenced flows first: their placements are known
        floor = 1 + max((placed[r].level for r in flow.references), default=-1)
        kept = recorded.get(flow.name)
        if kept is None:
            placed[flow.name] = Placement(floor, flow_group(flow.name, groups))
            continue
        if kept.level < floor:
            deepest = max(flow.references, key=lambda r: placed[r].level)
            raise FlowError(
                f"{flow.path}: recorded in nested stack {kept.stack_id} ({source}), but it now references "
                f"{deepest} in {placed[deepest].stack_id}: a flow must sit above what it references, and moving it "
                "to another nested stack replaces it, which Connect refuses while the old flow of that name exists. "
                f"Reference a flow of a lower level, or move it in two deploys: deploy without {flow.name}, then "
                f"with it again (and its entry gone from {LAYOUT_FILE})"
            )
        placed[flow.name] = kept
    return placed


def record(flows_dir: Path, placements: Mapping[str, Placement]) -> bool:
    """Write the placements to ``LAYOUT.yaml`` if they differ from what it holds; True when it was written."""
    path = flows_dir / LAYOUT_FILE
    if path.exists() and read_layout(flows_dir) == dict(placements):
        return False
    body = yaml.safe_dump({name: placements[name].stack_id for name in sorted(placements)}, sort_keys=False)
    path.write_text(_HEADER + body, encoding="utf-8")
    return True
