"""The strict YAML value types every config section is built from, and their messages.

Numbers are strict: ``true`` or ``"5"`` where a number goes, ``.nan`` or ``.inf``
anywhere, a fractional value where a whole number goes, or a seed or random state outside
NumPy's range 0..2**32 - 1 are refused, each with a message saying what is allowed. Also
the names these checks allow (activations, suggestions), ``ConfigError`` and
how a parsed YAML value is named in a message (``yaml_kind``, ``yaml_repr``).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidatorFunctionWrapHandler,
    model_validator,
)
from pydantic_core import PydanticCustomError

SETTING_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"
# Names YAML 1.1 (PyYAML) reads as booleans or null though YAML 1.2 (DVC) reads strings:
# refused, so every YAML tool reads a setting name as the same string.
YAML_11_WORDS = frozenset(("y", "yes", "n", "no", "on", "off", "true", "false", "null"))
# NumPy and scikit-learn take seeds and random states in 0 .. 2**32 - 1.
MAX_SEED = 2**32 - 1
ACTIVATIONS = ("tanh", "relu", "sigmoid", "elu", "selu", "gelu", "softplus", "swish", "linear")
LR_SUGGESTIONS = ("minimum", "steep", "valley")  # lrstudy.lr_finder.SUGGESTIONS


class ConfigError(ValueError):
    """Raised for invalid parameters; ``problems`` holds one message per problem.

    One problem reads as one line (``params.yaml: train.epochs = -3: …``); several as a
    count and one indented line each.
    """

    def __init__(self, problems: list[str], source: str = "params.yaml") -> None:
        self.problems = problems
        self.source = source
        if len(problems) == 1:
            super().__init__(f"{source}: {problems[0]}")
            return
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"{source}: {len(problems)} problems:\n{lines}")


# The mapping being validated or cross-checked as YAML read it (an int stays an int), for
# its messages (``given``): a section's own while it validates (``StrictModel``), the whole
# file's while ``loading.cross_check`` runs.
_INPUT: ContextVar[Any] = ContextVar("lrstudy_config_input", default=None)


@contextmanager
def reading(data: Any) -> Iterator[None]:
    """Let ``given`` quote keys of ``data`` (a parsed params mapping) within the block."""
    token = _INPUT.set(data)
    try:
        yield
    finally:
        _INPUT.reset(token)


class StrictModel(BaseModel):
    """Base for every config section: frozen; unknown keys are errors.

    The error names the allowed keys, and the closest one when the key looks like a typo.
    While a section validates, its validators can quote its keys as written (``given``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    @model_validator(mode="wrap")
    @classmethod
    def _keep_input(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        with reading(data):
            return handler(data)


def increasing(low: str, high: str) -> Any:
    """A model validator refusing key ``high`` at or below key ``low``, both as written.

    ``high (1) must be greater than low (2)``. A wrap validator: the section's own
    ``after`` validators run once ``StrictModel`` has stopped reading its input.
    """

    def check(cls: type, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        model = handler(data)
        if getattr(model, high) <= getattr(model, low):
            with reading(data):
                raise PydanticCustomError(
                    "bounds_order",
                    "{high} ({high_value}) must be greater than {low} ({low_value})",
                    {
                        "high": high,
                        "high_value": given(high, getattr(model, high)),
                        "low": low,
                        "low_value": given(low, getattr(model, low)),
                    },
                )
        return model

    return model_validator(mode="wrap")(classmethod(check))


def given(path: str | Sequence[str | int], value: Any) -> str:
    """``value`` (validated) as written at ``path`` of what is being read (``reading``).

    ``path`` is a key, or keys and list indices. The written value (what YAML read) is
    quoted where it is the same number as ``value``, else ``value``, as ``yaml_repr``
    quotes: the schema makes a float of an int written where a float goes (``2`` becomes
    2.0), and a message quotes ``2``, as written.
    """
    written = _INPUT.get()
    for part in [path] if isinstance(path, str) else path:
        if isinstance(written, Mapping):
            written = written.get(part)
        elif isinstance(written, list) and isinstance(part, int) and 0 <= part < len(written):
            written = written[part]
        else:
            written = None
    same = (
        all(isinstance(x, int | float) and not isinstance(x, bool) for x in (written, value))
        and written == value
    )
    return yaml_repr(written if same else value)


def _bounds_text(bounds: Mapping[str, float]) -> str:
    words = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
    return " and ".join(f"{words[key]} {value:g}" for key, value in bounds.items())


_BOUND_CHECKS = {
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}


def strict_number(kind: type[int] | type[float], note: str = "", **bounds: float) -> Any:
    """An int or float type that refuses booleans, text and non-finite values.

    Pydantic's lax mode would read ``true`` as 1 and ``"5"`` as 5; YAML 1.2 makes both
    deliberate non-numbers, so they are errors here. A whole-number float (``2e2``, which
    YAML 1.2 reads as 200.0) is accepted where an int goes. The error says what is allowed:
    ``a whole number >= 1``, ``a finite number > 0``; with a ``note``, bounds are checked
    here too so that a value out of range gets the note in brackets as the reason.

    Args:
        kind: ``int`` or ``float``.
        note: why the bounds are what they are, shown in brackets in the message.
        **bounds: pydantic's ``gt``, ``ge``, ``lt``, ``le``.
    """
    allowed = "a whole number" if kind is int else "a finite number"
    if bounds:
        allowed += f" {_bounds_text(bounds)}"
    if note:
        allowed += f" ({note})"

    def check(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            got = kind_phrase(value)
            raise PydanticCustomError(
                "strict_number", "expected {allowed}, got {got}", {"allowed": allowed, "got": got}
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise PydanticCustomError(
                "finite_number",
                "expected {allowed}; .nan and .inf are not allowed",
                {"allowed": allowed},
            )
        if kind is int and isinstance(value, float):
            if not value.is_integer():
                raise PydanticCustomError(
                    "whole_number", "expected {allowed}", {"allowed": allowed}
                )
            return int(value)
        if note and not all(_BOUND_CHECKS[key](value, bound) for key, bound in bounds.items()):
            raise PydanticCustomError("out_of_range", "expected {allowed}", {"allowed": allowed})
        return value

    return Annotated[kind, BeforeValidator(check), Field(**bounds)]


def yaml_kind(value: Any) -> str:
    """How YAML 1.2 calls the kind of a parsed value, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "mapping"
    if isinstance(value, list):
        return "list"
    return type(value).__name__


# How a message names a parsed value's kind after "got" (``kind_phrase``).
KIND_PHRASES = {"bool": "a boolean", "int": "an integer", "null": "null", "date": "a date"}


def kind_phrase(value: Any) -> str:
    """``yaml_kind`` of ``value`` with its article: ``an integer``, ``a string``, ``null``."""
    kind = yaml_kind(value)
    return KIND_PHRASES.get(kind, f"a {kind}")


def yaml_repr(value: Any) -> str:
    """A parsed value as YAML writes it (``true``, ``null``, ``.nan``), else Python's repr."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
    return repr(value)


def _strict_bool(value: Any) -> Any:
    if not isinstance(value, bool):
        raise PydanticCustomError(
            "strict_bool", "expected true or false, got {got}", {"got": kind_phrase(value)}
        )
    return value


StrictBool = Annotated[bool, BeforeValidator(_strict_bool)]
PositiveFloat = strict_number(float, gt=0)
Fraction = strict_number(float, gt=0, lt=1)
PositiveInt = strict_number(int, ge=1)
Seed = strict_number(int, ge=0, le=MAX_SEED)
SeedCount = strict_number(int, ge=1, le=100)
# The optimizer holds its rate as a float32: a rate outside float32's normal range would
# become inf, or round to zero or lose precision, without a word.
# IEEE 754 binary32: largest finite value (2 - 2**-23) * 2**127, smallest normal 2**-126.
FLOAT32_MAX = (2 - 2.0**-23) * 2.0**127
FLOAT32_TINY = 2.0**-126
_RATE_NOTE = "a learning rate the optimizer holds as a float32"
LearningRate = strict_number(float, _RATE_NOTE, ge=FLOAT32_TINY, le=FLOAT32_MAX)
RateFloor = strict_number(float, _RATE_NOTE, ge=0, le=FLOAT32_MAX)


def one_of(what: str, allowed: Sequence[str]) -> AfterValidator:
    """A validator refusing a name not in ``allowed``: "unknown <what>; allowed: ..."."""

    def check(value: str) -> str:
        if value not in allowed:
            raise PydanticCustomError(
                f"unknown_{what}",
                "unknown {what}; allowed: {allowed}",
                {"what": what, "allowed": ", ".join(allowed)},
            )
        return value

    return AfterValidator(check)
