"""The population trainer: many members of one network trained together, in one graph.

A *member* is one model of the setting's network with its own seed (initial weights and
batch order) and its own ``RatePlan`` (base rate and schedule). Every member of a
population shares the architecture, the batch size and the epoch length, so their weights
stack along a leading member axis (a Dense kernel ``[in, out]`` becomes ``[members, in,
out]``) and each TensorFlow op of an optimizer step does the work of all members at the
dispatch cost of one: a setting's 20 seeds, or the LR sweep's whole grid, train about as
fast as one model does alone (``make bench``).

Nothing couples the members:

* the forward pass (``stacked_network``) is a batched matrix product per layer
  (``tf.linalg.matmul`` of ``[members, batch, in]`` by ``[members, in, out]``), then the
  bias and Keras' own activation functions;
* each member's loss is Keras' loss function averaged over that member's batch, and the
  members' losses are **summed**, so the gradient with respect to member ``m``'s weights is
  exactly member ``m``'s own gradient;
* the optimizer update is Keras' own arithmetic in Keras' order
  (``member_optimizers.OPTIMIZERS``), with a per-member rate; a member that diverges (NaN
  or inf) only spoils its own slices.

The arithmetic is Keras' to float precision, not to the bit: the batched product may sum in
another order than one ``Dense`` layer's product (tests bound the difference). The same
inputs give the same bits on every run and every AVX2 CPU (``make cross-cpu``).

Per epoch, one ``tf.function`` call runs every optimizer step of every member (a
``tf.while_loop``) and the validation pass; between epochs Python applies each member's
epoch-level Keras callbacks, which is where ``ReduceLROnPlateau`` (Keras' own class, one
instance per member) cuts a member's rate. TensorFlow is imported inside the functions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lrstudy.clock import steps_per_epoch as clock_steps_per_epoch
from lrstudy.config import ModelConfig
from lrstudy.data import Dataset
from lrstudy.member_optimizers import OPTIMIZERS, evaluated_weights, flatten_slots
from lrstudy.model import (
    build_model,
    compile_model,
    initial_weights,
    layer_shapes,
    make_optimizer,
)
from lrstudy.rate_plan import RatePlan
from lrstudy.stacked_network import (
    StackedNetwork,
    epoch_function,
    step_function,
    tensorflow_module,
)

# A chunk of a population holds at most this many bytes of per-member tensors (weights,
# optimizer slots, gradients and the activations of a batch and of the validation pass,
# ``member_bytes``); a larger population trains in chunks of ``chunk_size`` members.
CHUNK_BYTES = 1 << 30
# Copies of a member's weights alive at once during an Adam step. Measured: a
# [1024, 1024] network (1.05 M weights), 100 members in chunks of 46 by a count of 4
# copies, peaked at 4.85 GB, about 92 MB per member above TensorFlow's 0.6 GB: some 20
# copies. 24 keeps a chunk near its budget.
WEIGHT_COPIES = 24
# A block of epochs trained in one graph call holds at most this many bytes of per-epoch
# inputs and outputs (``Population.block_epochs``); a longer run trains in several blocks.
BLOCK_BYTES = 64 << 20


@dataclass(frozen=True)
class Member:
    """One model of a population: its seed and the rates it trains with.

    Attributes:
        seed: seeds the initial weights (as ``build_model`` draws them after
            ``keras.utils.set_random_seed(seed)``) and the batch order
            (``training_run.order_stream``).
        plan: its ``RatePlan``; ``plan.rates is None`` (reduce-on-plateau) makes its rate
            follow its own ``ReduceLROnPlateau``.
    """

    seed: int
    plan: RatePlan


@dataclass(frozen=True)
class EpochOutput:
    """What one epoch of a population returns, NumPy arrays with the member axis first.

    Attributes:
        loss, accuracy: training loss and accuracy over the epoch's batches (Keras' running
            means: each batch weighted by its rows), shape ``(members,)``.
        val_loss, val_accuracy: on the validation rows, shape ``(members,)`` (NaN without
            validation rows).
        rates: the rate every optimizer step applied, shape ``(members, steps_per_epoch)``.
        step_losses: each step's batch loss before its update, shape
            ``(members, steps_per_epoch)`` (the LR range test's curve).
    """

    loss: np.ndarray
    accuracy: np.ndarray
    val_loss: np.ndarray
    val_accuracy: np.ndarray
    rates: np.ndarray
    step_losses: np.ndarray


# --- Sizes. -----------------------------------------------------------------------------------


def member_bytes(
    model_config: ModelConfig, n_features: int, n_classes: int, batch_size: int, n_val: int
) -> int:
    """Bytes of float32 tensors one member needs at once while it trains (an estimate).

    ``WEIGHT_COPIES`` copies of every weight (weights, gradients, the optimizer's slots,
    the loop's next values and the update's temporaries, its initial weights and its
    result), plus the activations of one batch and of the validation pass through every
    layer, kept for the backward pass (counted twice).
    """
    weights = sum(math.prod(shape) for shape in layer_shapes(model_config, n_features, n_classes))
    width = n_features + sum(model_config.hidden_units) + max(n_classes, 2)
    return 4 * (WEIGHT_COPIES * weights + 2 * (batch_size + n_val) * width)


def chunk_size(members: int, per_member: int, budget: int = CHUNK_BYTES) -> int:
    """How many members train together: all of them, or as many as ``budget`` bytes hold (≥ 1)."""
    return max(1, min(members, budget // max(per_member, 1)))


# --- The population. ------------------------------------------------------------------------


class Population:
    """One compiled epoch for members of one network; state lives in NumPy between epochs.

    Args:
        model_config: the network and optimizer (``model`` params).
        train: training rows (features float32).
        val: validation rows, or ``None`` to skip validation (the range test).
        n_classes: classes the output predicts (``data.n_classes``).
        batch_size: rows per optimizer step; the last batch of an epoch may be short.

    Raises:
        ValueError: if the optimizer uses an option the population does not implement.
    """

    def __init__(
        self,
        model_config: ModelConfig,
        train: Dataset,
        val: Dataset | None,
        *,
        n_classes: int,
        batch_size: int,
    ) -> None:
        tf = tensorflow_module()

        self.model_config = model_config
        self.n_train = len(train)
        self.n_features = int(train.x.shape[1])
        self.n_classes = n_classes
        self.batch_size = batch_size
        self.steps_per_epoch = clock_steps_per_epoch(self.n_train, batch_size)
        self.shapes = layer_shapes(model_config, self.n_features, n_classes)
        self.optimizer = OPTIMIZERS[model_config.optimizer.type](
            make_optimizer(model_config.optimizer, 0.0)
        )
        self.n_slots = self.optimizer.n_slots
        self.n_val = 0 if val is None else len(val)
        self._initial: dict[int, list[np.ndarray]] = {}
        self.metrics = self._compiled_metrics(train)
        self._epoch = self._compile(train, val, tf)
        self._train_loss = self._compile_train_loss(train, tf)

    def _compiled_metrics(self, train: Dataset) -> list[Any]:
        """A compiled model's built metrics.

        ``ReduceLROnPlateau`` in ``mode: auto`` reads from them which way a metric improves.
        """
        model = build_model(self.model_config, self.n_features, self.n_classes)
        compile_model(model, self.model_config, 0.0)
        x, y = train.x[:1], train.y[:1].astype(np.float32)
        model.compute_metrics(x, y, model(x), sample_weight=None)
        return model.metrics

    # The compiled epoch. ---------------------------------------------------------------

    def _compile(self, train: Dataset, val: Dataset | None, tf: Any) -> Callable:
        """Trace-once ``tf.function`` over a block of epochs (an outer ``tf.while_loop``).

        State and the block's orders and rates in; the new state and every epoch's metrics
        and step losses out.
        """
        network = StackedNetwork(self.model_config, self.n_classes)
        step = step_function(network, train, self.batch_size, self.optimizer.apply)
        one_epoch = epoch_function(
            network, step, self.steps_per_epoch, val, self.optimizer.evaluated
        )
        n_steps = self.steps_per_epoch
        weight_specs = [tf.TensorSpec([None, *shape], tf.float32) for shape in self.shapes]
        signature = [
            weight_specs,
            [weight_specs] * self.n_slots,
            tf.TensorSpec([], tf.int64, name="iterations"),
            tf.TensorSpec([None, None, self.n_train], tf.int32, name="orders"),
            tf.TensorSpec([None], tf.int32, name="member_streams"),
            tf.TensorSpec([None, None, n_steps], tf.float32, name="rates"),
        ]

        @tf.function(input_signature=signature, autograph=False, jit_compile=False)
        def run_epochs(weights, slots, iterations, orders, member_streams, rates):
            epochs = tf.shape(orders)[0]

            def body(epoch, weights, slots, metrics, losses):
                now = iterations + tf.cast(epoch, tf.int64) * n_steps
                weights, slots, epoch_metrics, epoch_losses = one_epoch(
                    weights, slots, now, orders[epoch], member_streams, rates[epoch]
                )
                return (
                    epoch + 1,
                    weights,
                    slots,
                    metrics.write(epoch, epoch_metrics),
                    losses.write(epoch, epoch_losses),
                )

            _, weights, slots, metrics, losses = tf.while_loop(
                lambda epoch, *_: epoch < epochs,
                body,
                (
                    tf.constant(0),
                    weights,
                    slots,
                    tf.TensorArray(tf.float32, size=epochs),
                    tf.TensorArray(tf.float32, size=epochs),
                ),
            )
            # The weights saved (Schedule-Free: the average x).
            evaluated = evaluated_weights(self.optimizer, weights, slots)
            return weights, slots, evaluated, metrics.stack(), losses.stack()

        # The concrete function: called directly, without tf.function's per-call signature
        # matching (a tenth of an epoch's time at 20 members).
        return run_epochs.get_concrete_function()

    def _compile_train_loss(self, train: Dataset, tf: Any) -> Callable:
        """Each member's loss on every train row in one pass (Keras' ``test_on_batch``)."""
        network = StackedNetwork(self.model_config, self.n_classes)
        x = tf.constant(train.x, tf.float32)[None]
        y = tf.constant(train.y.astype(np.float32))[None]
        specs = [tf.TensorSpec([None, *shape], tf.float32) for shape in self.shapes]

        @tf.function(input_signature=[specs], autograph=False, jit_compile=False)
        def train_loss(weights):
            members = tf.shape(weights[0])[0]
            inputs = tf.broadcast_to(x, [members, *x.shape[1:]])
            targets = tf.broadcast_to(y, [members, y.shape[1]])
            return network.evaluate(weights, inputs, targets)[0]

        return train_loss.get_concrete_function()

    def train_loss(self, state: PopulationState) -> np.ndarray:
        """Each member's loss on the whole train split as its weights stand, ``(members,)``.

        Before the first step it is the untrained model's loss, the reference of
        ``evaluation.divergence_epoch``.
        """
        return self._train_loss(state.weights).numpy()

    # State. ------------------------------------------------------------------------------

    def initial_weights(self, seed: int) -> list[np.ndarray]:
        """The weights ``build_model`` draws after ``keras.utils.set_random_seed(seed)``."""
        if seed not in self._initial:
            self._initial[seed] = initial_weights(
                self.model_config, self.n_features, self.n_classes, seed
            )
        return self._initial[seed]

    def start(self, seeds: Sequence[int]) -> PopulationState:
        """Fresh members: each seed's initial weights, zero optimizer slots, step 0."""
        weights = [
            np.stack([self.initial_weights(seed)[k] for seed in seeds])
            for k in range(len(self.shapes))
        ]
        slots = [[self.optimizer.start(w, k) for w in weights] for k in range(self.n_slots)]
        return PopulationState(weights, slots, 0)

    def block_epochs(self, members: int) -> int:
        """Epochs per ``run_epochs`` call for ``members``: ``BLOCK_BYTES`` of arrays (≥ 1).

        An epoch's orders, rates and step losses take ``4 * (n_train + 2 *
        steps_per_epoch)`` bytes per member.
        """
        per_epoch = 4 * members * (self.n_train + 2 * self.steps_per_epoch)
        return max(1, BLOCK_BYTES // per_epoch)

    def run_epochs(
        self,
        state: PopulationState,
        orders: np.ndarray,
        rates: np.ndarray,
        member_streams: Sequence[int] | None = None,
    ) -> tuple[PopulationState, list[EpochOutput]]:
        """A block of consecutive epochs of every member of ``state``, in one graph call.

        Nothing but the arrays given steers the block, so it fits members whose rates are
        known in advance (a plateau member's rate, set between epochs, needs blocks of one).

        Args:
            state: the members' weights and optimizer state before the block.
            orders: each epoch's row orders, int32 ``(epochs, streams, n_train)``: one
                order per batch-order stream (a seed's), which members may share.
            rates: each member's rate at every step, float32
                ``(epochs, members, steps_per_epoch)``.
            member_streams: the stream (index into ``orders``' second axis) each member
                visits the rows in, ``(members,)``; default: stream ``m`` for member ``m``.
                Passing a seed's order once for all its members (the LR sweep's 16 rates
                of one seed) spares copying it 16 times into the graph.

        Returns:
            The state after the block and each epoch's ``EpochOutput``, in order.
        """
        rates = np.ascontiguousarray(rates, np.float32)
        if member_streams is None:
            member_streams = range(rates.shape[1])
        weights, slots, evaluated, metrics, losses = self._epoch(
            state.weights,
            state.slots,
            np.int64(state.iterations),
            np.ascontiguousarray(orders, np.int32),
            np.asarray(member_streams, np.int32),
            rates,
        )
        epochs = len(orders)
        new_state = PopulationState(
            weights,
            slots,
            state.iterations + epochs * self.steps_per_epoch,
            evaluated if self.optimizer.averages else None,
        )
        metrics, losses = metrics.numpy(), losses.numpy()
        return new_state, [
            EpochOutput(*metrics[epoch], rates[epoch], losses[epoch]) for epoch in range(epochs)
        ]

    def run_epoch(
        self, state: PopulationState, orders: np.ndarray, rates: np.ndarray
    ) -> tuple[PopulationState, EpochOutput]:
        """One epoch: ``run_epochs`` of a block of one.

        ``orders`` is ``(members, n_train)``, ``rates`` ``(members, steps_per_epoch)``.
        """
        state, (out,) = self.run_epochs(state, orders[None], np.asarray(rates)[None])
        return state, out


@dataclass(frozen=True)
class PopulationState:
    """Every member's weights and optimizer slots, stacked (member axis first).

    Attributes:
        weights: per weight of ``layer_shapes``, an array or tensor ``(members, *shape)``.
        slots: per optimizer slot (Adam: m, v), arrays or tensors shaped like ``weights``.
        iterations: optimizer steps taken so far (shared by every member).
        evaluated: the weights validated and saved, shaped like ``weights``
            (``MemberOptimizer.evaluated``: Schedule-Free's average ``x``); ``None``:
            ``weights`` themselves (before the first epoch, or any other optimizer).
    """

    weights: list[np.ndarray]
    slots: list[list[np.ndarray]]
    iterations: int
    evaluated: list[np.ndarray] | None = None

    def as_numpy(self) -> PopulationState:
        """The same state with NumPy arrays (one copy each), cheap to slice per member."""
        return PopulationState(
            [np.asarray(w) for w in self.weights],
            [[np.asarray(s) for s in slot] for slot in self.slots],
            self.iterations,
            None if self.evaluated is None else [np.asarray(w) for w in self.evaluated],
        )

    def member_optimizer_state(
        self, member: int, rate: float, keras_slots: Callable = flatten_slots
    ) -> list[np.ndarray]:
        """Member ``member``'s optimizer variables in Keras' order.

        That of ``optimizer.variables`` once built: steps taken, ``rate`` (its next rate),
        then the slots as ``keras_slots`` orders them (``MemberOptimizer.keras_slots``; by
        default each weight's slots in turn: Adam's momentum, velocity).
        """
        slots = [
            [np.asarray(slot[k][member]) for slot in self.slots] for k in range(len(self.weights))
        ]
        return [np.int64(self.iterations), np.float32(rate), *keras_slots(slots)]

    def member_weights(self, member: int) -> list[np.ndarray]:
        """Member ``member``'s weights to save, in Keras' ``get_weights`` order (``evaluated``)."""
        weights = self.weights if self.evaluated is None else self.evaluated
        return [np.asarray(w[member]) for w in weights]
