"""The ``optimizer`` keys: ``model.optimizer`` (the study's) and a setting's override.

Written as a name (``optimizer: adam``) or as a mapping with a ``type`` and that
optimizer's options (``optimizer: {type: adamw, weight_decay: 0.01}``); a name is the
mapping with every option at its default. Each option is a strict, range-checked key like
every other key of params.yaml; an option not listed is an unknown key. Defaults are Keras'
(``keras.optimizers.<Class>``'s own), so a bare name builds exactly Keras' class.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, get_args

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

from lrstudy.config.types import StrictBool, StrictModel, kind_phrase, strict_number


class AdamOptimizer(StrictModel):
    """``keras.optimizers.Adam`` (Kingma & Ba 2015) with Keras' defaults."""

    type: Literal["adam"]


class SgdOptimizer(StrictModel):
    """``keras.optimizers.SGD`` without momentum: ``w - lr * g``."""

    type: Literal["sgd"]


class RmspropOptimizer(StrictModel):
    """``keras.optimizers.RMSprop`` (Hinton 2012) with Keras' defaults."""

    type: Literal["rmsprop"]


class AdamWOptimizer(StrictModel):
    """``keras.optimizers.AdamW`` (Loshchilov & Hutter 2019): Adam with decoupled decay.

    Before each Adam step every weight shrinks by ``lr * weight_decay`` of itself
    (``w <- w - w * weight_decay * lr``), ``lr`` being the step's scheduled rate.
    ``weight_decay`` is at most 1: with ``lr <= 1`` a larger factor would flip signs.
    """

    type: Literal["adamw"]
    weight_decay: strict_number(float, "decoupled decay per unit of rate", ge=0, le=1) = 0.004


class ScheduleFreeAdamWOptimizer(StrictModel):
    """``keras.optimizers.ScheduleFreeAdamW`` (Defazio et al. 2024) with Keras' defaults.

        Adam steps move ``z``; the evaluated and saved weights are their average ``x`` (weight
        ``1/t``); gradients are taken at ``y = (1 - beta_1)·z + beta_1·x``. ``beta_1`` is the
        interpolation (Keras' default 0.9): ``x`` is recovered as ``(y - (1 - beta_1)·z) / beta_1``,
    so 1 is refused and so is a value near 0 (below 0.1), where that division overflows.
    """

    type: Literal["schedule_free_adamw"]
    beta_1: strict_number(
        float, "x = (y - (1 - beta_1)·z) / beta_1 divides by it", ge=0.1, lt=1
    ) = 0.9


class ProdigyOptimizer(StrictModel):
    """Prodigy (Mishchenko & Defazio 2023): Adam whose step size ``d`` is estimated.

    The authors' ``prodigyopt.Prodigy`` (1.1.2) with their defaults (betas 0.9, 0.999,
    eps 1e-8), decoupled weight decay (``w <- w - weight_decay·d·lr·w``). The scheduled rate
    multiplies ``d`` (the authors recommend ``lr: 1.0``). ``d_coef`` scales the estimate;
    ``growth_rate`` caps ``d``'s growth per step (``null``: uncapped, the authors' ``inf``);
    ``d0`` is the starting ``d``; ``beta_3`` (``null``: ``sqrt(0.999)``) averages the
    estimate's sums; ``safeguard_warmup`` leaves the rate out of the estimate's denominator;
    ``use_bias_correction`` is Adam's. Bounds keep every float32 sum finite.
    """

    type: Literal["prodigy"]
    d_coef: strict_number(float, "scales d's estimate", gt=0, le=100) = 1.0
    growth_rate: (
        strict_number(float, "d's largest growth per step; null: uncapped", gt=1, le=1e6) | None
    ) = None
    d0: strict_number(float, "the first d", ge=1e-10, le=1) = 1e-6
    beta_3: strict_number(float, "the estimate's decay; null: sqrt(0.999)", ge=0, lt=1) | None = (
        None
    )
    weight_decay: strict_number(float, "decoupled decay per unit of d·lr", ge=0, le=1) = 0.0
    safeguard_warmup: StrictBool = False
    use_bias_correction: StrictBool = False


OptimizerConfig = (
    AdamOptimizer
    | SgdOptimizer
    | RmspropOptimizer
    | AdamWOptimizer
    | ScheduleFreeAdamWOptimizer
    | ProdigyOptimizer
)
OPTIMIZER_CLASSES: tuple[type[StrictModel], ...] = get_args(OptimizerConfig)
# The ``type`` names in the union's order: each class's ``type`` literal is their one home.
OPTIMIZER_TYPES: tuple[str, ...] = tuple(
    get_args(cls.model_fields["type"].annotation)[0] for cls in OPTIMIZER_CLASSES
)


def _from_name(value: Any) -> Any:
    """``adamw`` -> ``{type: adamw}``; an unknown name is refused with the allowed names."""
    if isinstance(value, str):
        if value not in OPTIMIZER_TYPES:
            raise PydanticCustomError(
                "unknown_optimizer",
                "unknown optimizer; allowed: {allowed}",
                {"allowed": ", ".join(OPTIMIZER_TYPES)},
            )
        return {"type": value}
    if not isinstance(value, Mapping):
        raise PydanticCustomError(
            "optimizer_kind",
            "expected an optimizer name ({allowed}) or a mapping with its 'type', got {got}",
            {"allowed": ", ".join(OPTIMIZER_TYPES), "got": kind_phrase(value)},
        )
    return value


Optimizer = Annotated[
    Annotated[OptimizerConfig, Field(discriminator="type")], BeforeValidator(_from_name)
]
DEFAULT_OPTIMIZER = AdamOptimizer(type="adam")
