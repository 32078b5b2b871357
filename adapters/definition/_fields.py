"""Line-aware YAML reading for adapter definitions: every error names file, line and field.

PyYAML's safe loader is extended to remember the line of every mapping and key, and
small typed readers (``text_field``, ``url_field``, ``file_field`` ...) turn a wrong value
into ``population.yaml line 14: operations[0].backend: unknown backend 'popreg'``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from adapters.errors import AdapterError

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,127}$")


class DefinitionError(AdapterError):
    """The adapter definition file is not valid; the message names line and field."""

    code = "adapters.definition.invalid"


class YamlMap(dict):  # type: ignore[type-arg]
    line: int = 0
    key_lines: dict[str, int]


class LineLoader(yaml.SafeLoader):
    pass


def _construct_map(loader: LineLoader, node: yaml.MappingNode) -> YamlMap:
    result = YamlMap()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise DefinitionError(f"line {key_node.start_mark.line + 1}: duplicate key {key!r}")
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[str(key)] = key_node.start_mark.line + 1
    return result


LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)


class Context:
    """Where we are in the file, for error messages."""

    def __init__(self, source: str, base: Path) -> None:
        self.source = source
        self.base = base

    def fail(self, where: str, line: int, message: str) -> DefinitionError:
        return DefinitionError(f"{self.source} line {line}: {where}: {message}")


def line_of(mapping: Any, key: str | None = None) -> int:
    if isinstance(mapping, YamlMap):
        if key is not None and key in mapping.key_lines:
            return mapping.key_lines[key]
        return mapping.line
    return 0


def only_fields(ctx: Context, mapping: YamlMap, where: str, allowed: set[str]) -> None:
    for key in mapping:
        if key not in allowed:
            raise ctx.fail(f"{where}.{key}", line_of(mapping, key), f"unknown field (allowed: {', '.join(sorted(allowed))})")


def required_map(ctx: Context, parent: YamlMap, key: str, where: str) -> YamlMap:
    value = parent.get(key)
    if not isinstance(value, YamlMap):
        raise ctx.fail(f"{where}.{key}" if where != "top level" else key, line_of(parent, key), "must be a mapping")
    return value


def optional_map(ctx: Context, parent: YamlMap, key: str, where: str, allowed: set[str]) -> YamlMap | None:
    """The sub-mapping ``parent[key]``, holding only ``allowed`` fields; ``None`` when absent or null."""
    value = parent.get(key)
    if value is None:
        return None
    if not isinstance(value, YamlMap):
        raise ctx.fail(f"{where}.{key}", line_of(parent, key), "must be a mapping")
    only_fields(ctx, value, f"{where}.{key}", allowed)
    return value


def text_field(ctx: Context, m: YamlMap, key: str, where: str, *, required: bool = False) -> str | None:
    value = m.get(key)
    if value is None:
        if required:
            raise ctx.fail(f"{where}.{key}", line_of(m), "is required")
        return None
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise ctx.fail(f"{where}.{key}", line_of(m, key), "must be text")
    text = str(value).strip()
    if not text:
        raise ctx.fail(f"{where}.{key}", line_of(m, key), "must not be empty")
    return text


def name_field(ctx: Context, m: YamlMap, key: str, where: str) -> str:
    value = text_field(ctx, m, key, where, required=True)
    assert value is not None
    if not _NAME.match(value):
        raise ctx.fail(f"{where}.{key}", line_of(m, key), f"{value!r} is not a valid name (letters, digits, _ . -)")
    return value


def url_field(ctx: Context, m: YamlMap, key: str, where: str, *, required: bool = True) -> str | None:
    value = text_field(ctx, m, key, where, required=required)
    if value is not None and not re.match(r"^https?://[^\s/]+", value):
        raise ctx.fail(f"{where}.{key}", line_of(m, key), f"{value!r} is not an http(s) URL")
    return value.rstrip("/") if value and key == "public_url" else value


def number_field(ctx: Context, m: YamlMap, key: str, where: str, default: float, *, minimum: float = 0) -> float:
    value = m.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise ctx.fail(f"{where}.{key}", line_of(m, key), f"must be a number >= {minimum}")
    return float(value)


def bool_field(ctx: Context, m: YamlMap, key: str, where: str, default: bool) -> bool:
    value = m.get(key, default)
    if not isinstance(value, bool):
        raise ctx.fail(f"{where}.{key}", line_of(m, key), "must be true or false")
    return value


def file_field(ctx: Context, m: YamlMap, key: str, where: str, *, required: bool = False) -> Path | None:
    value = text_field(ctx, m, key, where, required=required)
    if value is None:
        return None
    path = Path(value)
    if not path.is_absolute():
        path = ctx.base / path
    if not path.is_file():
        raise ctx.fail(f"{where}.{key}", line_of(m, key), f"file {value!r} does not exist")
    return path


def files_field(ctx: Context, m: YamlMap, key: str, where: str) -> tuple[Path, ...]:
    value = m.get(key) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ctx.fail(f"{where}.{key}", line_of(m, key), "must be a list of file names")
    holder = YamlMap({key: None})
    holder.line = line_of(m, key)
    result = []
    for item in value:
        holder[key] = item
        found = file_field(ctx, holder, key, where, required=True)
        assert found is not None
        result.append(found)
    return tuple(result)
