"""Safe YAML reading that keeps the node tree, so errors can name a line and a column.

Why not `yaml.safe_load`: it silently keeps the last of two duplicate keys, and it hands back
aliases as shared references, so an alias-expansion bomb is tiny on disk and explodes only when
something walks it. Here the document is composed first (C parser), its expanded size measured
on the node graph, duplicate keys collected, and only then constructed. Positions are looked up
lazily from the kept node tree, only when there is an error to place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import yaml

try:  # the C parser is about 4x faster; fall back where libyaml is missing
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

MAX_FILE_BYTES = 8 * 1024 * 1024
"""Manifests larger than this are refused before parsing (documented in README)."""

MAX_EXPANDED_NODES = 2_000_000
"""Upper bound on nodes after alias expansion; a 10,000-import manifest has about 200,000."""

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based


@dataclass
class ParsedYaml:
    """A parsed document: its Python value, its node tree, and problems found while parsing."""

    data: Any
    root: yaml.Node | None
    # (path of the repeated key, position of its second occurrence)
    duplicate_keys: list[tuple[Path, Position]] = field(default_factory=list)

    def item_positions(self, path: Sequence[str | int]) -> list[Position]:
        """Where each item of the list at `path` starts (one walk for a whole list)."""
        node = _node_at(self.root, path)
        if not isinstance(node, yaml.SequenceNode):
            return []
        return [_mark(item) for item in node.value]

    def position(self, path: Sequence[str | int], *, at_key: bool = False) -> Position:
        """Where `path` is written: its scalar value, or with `at_key` the key naming it.

        A path that does not exist (a missing key) resolves to its deepest existing parent.
        """
        node = self.root
        if node is None:
            return Position(1, 1)
        best = node
        for step in path:
            child = _child(node, step)
            if child is None:
                return _mark(best)
            key_node, node = child
            best = node
            if key_node is not None and (at_key or not isinstance(node, yaml.ScalarNode)):
                # Mappings and lists are pointed at by the key that opens them.
                best = key_node
        return _mark(best)


class YamlProblem(Exception):
    """The bytes are not a readable YAML document; carries where, when known."""

    def __init__(self, message: str, position: Position = Position(1, 1)) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


def _node_at(root: yaml.Node | None, path: Sequence[str | int]) -> yaml.Node | None:
    node = root
    for step in path:
        found = _child(node, step) if node is not None else None
        if found is None:
            return None
        node = found[1]
    return node


def _child(node: yaml.Node, step: str | int) -> tuple[yaml.Node | None, yaml.Node] | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(step):
                return key_node, value_node
    elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
        return (None, node.value[step]) if 0 <= step < len(node.value) else None
    return None


def _mark(node: yaml.Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


class _Loader(_BaseLoader):
    """The safe loader with a memo for implicit tags."""

    # Implicit tag resolution runs a list of regexes per plain scalar, in Python, and is most
    # of the parse time; keys and repeated values make the same scalars recur, so remember
    # each answer (bounded, per process).
    _resolved: ClassVar[dict[str, str]] = {}

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: Any) -> Any:
        # A plain scalar's implicit tag depends on its text alone (PyYAML's Resolver.resolve).
        if kind is yaml.ScalarNode and implicit[0]:
            tag = self._resolved.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
                if len(self._resolved) < 50_000:
                    self._resolved[value] = tag
            return tag
        return super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]


def decode(raw: bytes) -> str:
    """UTF-8 (a BOM is tolerated); anything else is refused with the position of the bad byte."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise YamlProblem(
            f"file is not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save it as UTF-8",
            Position(line, column),
        ) from None


def _expanded_size(root: yaml.Node) -> int:
    """Nodes the document would have with every alias expanded; refuses cycles and bombs.

    Memoised on node identity, so it costs one visit per distinct node however deep the
    aliases nest.
    """
    sizes: dict[int, int] = {}
    in_progress: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if key in sizes:
            continue
        if isinstance(node, yaml.ScalarNode):
            sizes[key] = 1
            continue
        children: list[yaml.Node] = (
            [n for pair in node.value for n in pair]
            if isinstance(node, yaml.MappingNode)
            else list(node.value)
        )
        if children_done:
            in_progress.discard(key)
            total = 1 + sum(sizes[id(child)] for child in children)
            if total > MAX_EXPANDED_NODES:
                raise YamlProblem(
                    "document expands to more than "
                    f"{MAX_EXPANDED_NODES:,} nodes through aliases (an alias bomb?); "
                    "write the entries out or use fewer nested aliases",
                    _mark(node),
                )
            sizes[key] = total
            continue
        if key in in_progress:
            raise YamlProblem("recursive alias: a node contains itself", _mark(node))
        in_progress.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in in_progress:
                raise YamlProblem("recursive alias: a node contains itself", _mark(child))
            if id(child) not in sizes:
                stack.append((child, False))
    return sizes[id(root)]


_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_TEXT_TAGS = frozenset({_STR, "tag:yaml.org,2002:timestamp"})


class _Builder:
    """Builds Python values from the node tree, recording repeated keys with their path.

    Faster than PyYAML's generic constructor for the plain maps, lists and strings manifests
    are made of; anything else (timestamps, merge keys, !!set, unknown tags) is handed to the
    safe constructor, which also refuses unsafe tags.
    """

    def __init__(self, loader: _Loader) -> None:
        self.loader = loader
        self.built: dict[int, Any] = {}
        self.path: list[str | int] = []
        self.duplicate_keys: list[tuple[Path, Position]] = []

    def build(self, node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode):
            # Timestamps stay text: the time fields parse them anyway, with our own rules.
            if node.tag in _TEXT_TAGS:
                return node.value
            try:
                return self.loader.construct_object(node, True)
            except ValueError:  # e.g. an integer longer than Python converts (4,300 digits)
                raise YamlProblem(
                    f"the value of {len(node.value):,} characters is not a usable number",
                    _mark(node),
                ) from None
        done = self.built.get(id(node))
        if done is not None:
            return done  # an alias: the same object, as PyYAML gives it
        if isinstance(node, yaml.MappingNode) and node.tag == _MAP:
            return self._mapping(node)
        if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ:
            items: list[Any] = []
            self.built[id(node)] = items
            for index, child in enumerate(node.value):
                self.path.append(index)
                items.append(self.build(child))
                self.path.pop()
            return items
        return self.loader.construct_object(node, True)

    def _mapping(self, node: yaml.MappingNode) -> Any:
        result: dict[Any, Any] = {}
        self.built[id(node)] = result
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:  # `<<:` merges follow PyYAML's rules
                del self.built[id(node)]
                return self.loader.construct_object(node, True)
            key = self.build(key_node)
            try:
                repeated = key in result
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    "found an unhashable key", key_node.start_mark,
                ) from None  # fmt: skip
            if repeated:
                self.duplicate_keys.append(((*self.path, str(key)), _mark(key_node)))
            self.path.append(str(key))
            result[key] = self.build(value_node)
            self.path.pop()
        return result


def parse(text: str) -> ParsedYaml:
    """Compose, check and construct one YAML (or JSON) document."""
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return ParsedYaml(data=None, root=None)
        if "&" in text:  # no anchor, no alias: nothing can expand
            _expanded_size(root)
        builder = _Builder(loader)
        data = builder.build(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Position(mark.line + 1, mark.column + 1) if mark else Position(1, 1)
        detail = exc.problem or str(exc)
        if "expected a single document" in str(exc):
            detail = "a manifest holds one YAML document; found a second one after '---'"
        raise YamlProblem(f"invalid YAML: {detail}", where) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(f"invalid YAML: {exc}") from None
    except RecursionError:
        raise YamlProblem("invalid YAML: nesting is too deep") from None
    finally:
        loader.dispose()
    return ParsedYaml(data=data, root=root, duplicate_keys=builder.duplicate_keys)
