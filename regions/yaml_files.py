"""YAML as the kit reads its own files: PyYAML's safe loader, refusing a key given twice in one mapping.

PyYAML keeps the last of two equal keys silently, so a second ``name:`` in a deployment file would switch the
deployment it targets, and a repeated key in a scenario or drill would drop the first value unseen. The YAML 1.2
specification requires the keys of a mapping to be unique; this loader holds files to it.
"""

from __future__ import annotations

from typing import Any

import yaml


class DuplicateKeyError(yaml.YAMLError):
    """A mapping gives one key twice; the message names the key and both lines (a YAMLError like any other)."""


class _UniqueKeyLoader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: the base constructor reports it
                break
            if first is not None:
                raise DuplicateKeyError(
                    f"the key {key!r} is given twice: first on line {first.start_mark.line + 1}, again on line "
                    f"{key_node.start_mark.line + 1} (YAML keys of one mapping are unique; remove one)"
                )
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` that refuses duplicate keys (raises DuplicateKeyError, a ``yaml.YAMLError``)."""
    return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
