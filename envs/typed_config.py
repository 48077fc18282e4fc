"""Typed config files: build a frozen dataclass from a parsed YAML/JSON mapping, checking every key and type.

The robot config and the model config both load through here, so both name a bad key the same way
("camera.fov_deg: expected a number, got 'wide'").
"""
from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any, Mapping, TypeVar

import yaml

T = TypeVar("T")
_SCALARS: dict[Any, str] = {bool: "true/false", int: "an integer", float: "a number", str: "a string"}


def _type_name(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin is tuple:
        args = typing.get_args(hint)
        count = "" if Ellipsis in args else f"{len(args)} "
        return f"a list of {count}{_type_name(args[0])}s".replace("a numbers", "numbers")
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(v) for v in typing.get_args(hint))
    return _SCALARS[hint]


def _coerce(value: Any, hint: Any, key: str, error: type[ValueError]) -> Any:
    origin = typing.get_origin(hint)
    if origin is tuple:
        args = typing.get_args(hint)
        fixed = Ellipsis not in args
        if not isinstance(value, (list, tuple)) or (fixed and len(value) != len(args)):
            raise error(f"{key}: expected {_type_name(hint)}, got {value!r}")
        return tuple(_coerce(item, args[0], f"{key}[{i}]", error) for i, item in enumerate(value))
    if origin is typing.Literal:
        if value not in typing.get_args(hint):
            raise error(f"{key}: must be {_type_name(hint)}, got {value!r}")
        return value
    ok = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, (int, float)) and not isinstance(value, bool),
        str: isinstance(value, str),
    }[hint]
    if not ok:
        raise error(f"{key}: expected {_type_name(hint)}, got {value!r}")
    return float(value) if hint is float else value


def _field_default(field: dataclasses.Field) -> Any:
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return None if field.default is dataclasses.MISSING else field.default


def dataclass_from_mapping(
    cls: type[T], data: Mapping[str, Any], error: type[ValueError], where: str = "", base: T | None = None
) -> T:
    """`cls(**data)` with nested dataclasses built from nested mappings; a bad key or type raises `error`.

    A nested section starts from its field's own default (not its class's), so a partial section keeps the rest:
    `gripper_camera: {fov_deg: 80}` stays disabled as the field's default says.
    """
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    known = list(fields)
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        full_key = f"{where}.{key}" if where else str(key)
        if key not in known:
            raise error(f"{full_key}: unknown key (known: {', '.join(known)})")
        hint = hints[key]
        if dataclasses.is_dataclass(hint):
            if not isinstance(value, Mapping):
                raise error(f"{full_key}: expected a mapping, got {value!r}")
            kwargs[key] = dataclass_from_mapping(hint, value, error, full_key, _field_default(fields[key]))
        else:
            kwargs[key] = _coerce(value, hint, full_key, error)
    return dataclasses.replace(base, **kwargs) if base is not None else cls(**kwargs)


def read_yaml_file(path: Path, error: type[ValueError], what: str) -> Any:
    """Parse a YAML (or JSON) file; a missing file or bad syntax raises `error` naming the file and `what` it is."""
    if not path.is_file():
        raise error(f"{path}: {what} not found")
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise error(f"{path}: not valid YAML/JSON ({err})") from None
