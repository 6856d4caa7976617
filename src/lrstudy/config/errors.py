"""Pydantic's validation errors turned into one-line messages for the user.

Each line names the key path, the value as given and what is allowed:
``settings.x.lr = true: expected a finite number ...``; an unknown key's line lists the
allowed keys and the closest one when it looks like a typo.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any, get_args, get_origin

from pydantic import BaseModel

from lrstudy.config.schedules import SCHEDULE_TYPES
from lrstudy.config.types import LR_SUGGESTIONS, yaml_repr


def format_error(error: Mapping[str, Any], root: type[BaseModel]) -> str:
    """One ``key.path = value: what is allowed`` line for a pydantic error.

    Args:
        error: one of pydantic's ``ValidationError.errors()``, located from ``root``.
        root: the model validated (``Config``), to find the allowed keys of a section.
    """
    raw_loc = [str(part) for part in error["loc"]]
    loc = raw_loc
    # Drop the union-member tag pydantic inserts after 'schedule' (e.g. '.plateau.').
    loc = [
        part
        for index, part in enumerate(loc)
        if not (index > 0 and loc[index - 1] == "schedule" and part in SCHEDULE_TYPES)
    ]
    path = ".".join(loc)
    message = error["msg"]
    message = message.removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return _unknown_key(raw_loc, path, root)
    if error["type"] == "missing":
        return f"{path}: missing required key"
    value = error.get("input")
    if (hint := _lr_source_hint(loc, value)) is not None:
        return hint
    if error["type"] == "union_tag_invalid":
        tag = error["ctx"]["tag"]
        return f"{path}.type = {tag!r}: unknown schedule type; allowed: {', '.join(SCHEDULE_TYPES)}"
    if error["type"] == "union_tag_not_found":
        return f"{path}: missing 'type'; allowed: {', '.join(SCHEDULE_TYPES)}"
    if error["type"] == "setting_name":
        return f"{'.'.join(loc[:-2])}: {message}"
    if isinstance(value, Mapping) and value:
        return f"{path or '(top level)'}: {message}"
    return f"{path} = {yaml_repr(value)}: {message}"


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
            for member in get_args(annotation) or (annotation,)
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


def _tag(model: type[BaseModel]) -> str | None:
    field = model.model_fields.get("type")
    return get_args(field.annotation)[0] if field is not None else None
