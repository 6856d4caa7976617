"""Pydantic's validation errors turned into one-line messages for the user.

Each line names the key path, the value as given and what is allowed:
``settings.x.lr = true: expected a finite number ...``; an unknown key's line lists the
allowed keys and the closest one when it looks like a typo. A key YAML reads as something
other than a string (``1e-3``, ``true``, ``null``, ``2024-01-01``) is quoted as written in
the file, with its line, when the file's ``Spellings`` are known.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel

from lrstudy.config.optimizers import OPTIMIZER_TYPES
from lrstudy.config.schedules import SCHEDULE_TYPES
from lrstudy.config.types import LR_SUGGESTIONS, kind_phrase, yaml_repr

# (parent key path, key) -> (the key as written in the file, its line); see
# ``loading.key_spellings``.
Spellings = Mapping[tuple[tuple[str, ...], Any], tuple[str, int]]
# The tagged unions, by the key they sit under: (what a type is called, the types).
_UNION_TYPES = {
    "schedule": ("schedule", SCHEDULE_TYPES),
    "optimizer": ("optimizer", OPTIMIZER_TYPES),
}


def format_error(
    error: Mapping[str, Any], root: type[BaseModel], spellings: Spellings | None = None
) -> str:
    """One ``key.path = value: what is allowed`` line for a pydantic error.

    Args:
        error: one of pydantic's ``ValidationError.errors()``, located from ``root``.
        root: the model validated (``Config``), to find the allowed keys of a section.
        spellings: the file's keys that YAML did not read as strings, as written.
    """
    spellings = spellings or {}
    original = [part for part in error["loc"]]
    # Drop the union-member tag pydantic inserts after 'schedule' (e.g. '.plateau.') or
    # 'optimizer' (e.g. '.adamw.').
    kept = [
        part
        for index, part in enumerate(original)
        if not (index > 0 and part in _UNION_TYPES.get(str(original[index - 1]), ("", ()))[1])
    ]
    raw_loc = [str(part) for part in original]
    loc = [_spelled(kept[:index], part, spellings) for index, part in enumerate(kept)]
    path = ".".join(loc)
    if error["type"] in ("invalid_key", "setting_name") and not isinstance(error["input"], str):
        # a setting name's location ends with (name, '[key]'), another key's with the key
        trim = -2 if error["type"] == "setting_name" else -1
        model = _model_at(raw_loc[:trim], root)
        parent = [str(part) for part in kept[:trim]]
        return _non_string_key(parent, error, model, spellings)
    message = error["msg"]
    message = message.removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return _unknown_key(raw_loc, path, root)
    if error["type"] == "missing":
        return f"{path}: missing required key"
    value = error.get("input")
    if (hint := _lr_source_hint(loc, value)) is not None:
        return hint
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        what, types = _UNION_TYPES.get(str(kept[-1]), _UNION_TYPES["schedule"])
        if error["type"] == "union_tag_not_found":
            return f"{path}: missing 'type'; allowed: {', '.join(types)}"
        tag = error["ctx"]["tag"]
        return f"{path}.type = {tag!r}: unknown {what} type; allowed: {', '.join(types)}"
    if error["type"] == "setting_name":
        return f"{'.'.join(loc[:-2])}: {message}"
    if isinstance(value, Mapping) and value:
        return f"{path or '(top level)'}: {message}"
    return f"{path} = {yaml_repr(value)}: {message}"


def _spelled(parent: Sequence[Any], part: Any, spellings: Spellings) -> str:
    """A location part: a non-string key as written in the file, else as pydantic has it."""
    found = spellings.get((tuple(str(item) for item in parent), part))
    return found[0] if found else str(part)


def _non_string_key(
    parent: Sequence[str],
    error: Mapping[str, Any],
    model: type[BaseModel] | None,
    spellings: Spellings,
) -> str:
    """``settings: setting name 1e-3 (line 12) is read by YAML as a float (0.001), ...``.

    A setting name (``setting_name``) gets the naming rule; any other key
    (``invalid_key``) the keys allowed in ``model``, the section it is in. Without the
    file's spellings (a mapping validated directly) the key is shown as YAML would write
    the value.
    """
    key = error["input"]
    where = ".".join(parent) or "(top level)"
    spelling, line = spellings.get((tuple(parent), key), (None, None))
    shown = key.isoformat() if hasattr(key, "isoformat") else yaml_repr(key)
    read = kind_phrase(key)
    if spelling is not None and spelling != shown and key is not None:
        read += f" ({shown})"
    written = (spelling or shown) + (f" (line {line})" if line else "")
    if error["type"] == "setting_name":
        return (
            f"{where}: setting name {written} is read by YAML as {read}, not a string: "
            f"{error['ctx']['rule']}"
        )
    allowed = [field.alias or name for name, field in model.model_fields.items()] if model else []
    listed = f"; allowed keys: {', '.join(allowed)}" if allowed else ""
    return f"{where}: key {written} is read by YAML as {read}, not a string{listed}"


def _lr_source_hint(loc: Sequence[str], value: Any) -> str | None:
    """The error for an ``lr`` of the wrong kind for its section, or ``None``."""
    if len(loc) != 3 or loc[2] != "lr":
        return None
    if loc[0] == "settings" and isinstance(value, Mapping):
        return (
            f"settings.{loc[1]}.lr = {dict(value)!r}: a rate from the range test goes under "
            "'suggested' (its stages wait for lr_find), not under settings"
        )
    if loc[0] == "suggested" and not isinstance(value, Mapping):
        return (
            f"suggested.{loc[1]}.lr = {value!r}: must be {{from: lr_find, suggestion: "
            f"{' | '.join(LR_SUGGESTIONS)}}}; a fixed rate goes under settings"
        )
    return None


def _unknown_key(loc: Sequence[str], path: str, root: type[BaseModel]) -> str:
    """'path: unknown key 'x' (did you mean 'y'?); allowed keys: ...'."""
    model = _model_at(loc[:-1], root)
    key = loc[-1]
    where = path.rsplit(".", 1)[0] if "." in path else "(top level)"
    if model is None:
        return f"{where}: unknown key '{key}'"
    allowed = [field.alias or name for name, field in model.model_fields.items()]
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"{where}: unknown key '{key}'{hint}; allowed keys: {', '.join(allowed)}"


def _model_at(loc: Sequence[str], root: type[BaseModel]) -> type[BaseModel] | None:
    """The model found at a pydantic error location (tags included) from ``root``, if any."""
    model = root
    index = 0
    while index < len(loc):
        field = model.model_fields.get(loc[index])
        if field is None:
            return None
        index += 1
        annotation = field.annotation
        if get_origin(annotation) is dict:  # settings: skip the setting name
            annotation = get_args(annotation)[1]
            index += 1
        members = [
            member
            for member in _flattened(annotation)
            if isinstance(member, type) and issubclass(member, BaseModel)
        ]
        if len(members) > 1:  # a schedule: pydantic puts the type tag in the location
            tagged = [m for m in members if index < len(loc) and _tag(m) == loc[index]]
            members = tagged
            index += 1
        if len(members) != 1:
            return None
        model = members[0]
    return model


def _flattened(annotation: Any) -> list[Any]:
    """The types of a (possibly nested, ``Annotated`` or optional) union annotation."""
    if get_origin(annotation) is Annotated:
        return _flattened(get_args(annotation)[0])
    args = get_args(annotation)
    if not args or get_origin(annotation) in (dict, list):
        return [annotation]
    return [member for arg in args for member in _flattened(arg)]


def _tag(model: type[BaseModel]) -> str | None:
    field = model.model_fields.get("type")
    return get_args(field.annotation)[0] if field is not None else None
