"""The session path tree."""

from __future__ import annotations

from heliograph.domain.sessions import PathNode, build_path_tree


def _shape(node: PathNode) -> tuple[str, list[str], list[object]]:
    return node.path, node.request_ids, [_shape(child) for child in node.children]


def test_a_nodes_parent_is_its_path_minus_the_last_segment() -> None:
    tree = build_path_tree([("r1", "/a"), ("r2", "/a/b/c"), ("r3", None), ("r4", "a/b"), ("r5", "/z//")])
    assert _shape(tree) == (
        "/",
        ["r3"],
        [("/a", ["r1"], [("/a/b", ["r4"], [("/a/b/c", ["r2"], [])])]), ("/z", ["r5"], [])],
    )


def test_an_empty_session_is_a_bare_root() -> None:
    assert _shape(build_path_tree([])) == ("/", [], [])
