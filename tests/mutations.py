"""Random damage to a parsed document, for tests that a parser fails only with its own error."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st


def paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path (keys and indexes) into ``value``, the empty one for the root first."""
    out = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            out += paths(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            out += paths(child, (*path, index))
    return out


def mutate(
    data: st.DataObject,
    doc: Any,
    where: list[tuple[Any, ...]],
    values: st.SearchStrategy[Any],
) -> None:
    """Remove or replace the values at 1-3 of the paths ``where`` in ``doc``, in place."""
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(where))
        parent = doc
        try:
            for part in path[:-1]:
                parent = parent[part]
            if data.draw(st.booleans()) and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = data.draw(values)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed this path
