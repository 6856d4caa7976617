"""The arithmetic of stacked members: forward pass, loss, accuracy, one optimizer step.

Every tensor has the member axis first: inputs ``[members, rows, features]``, a Dense
kernel ``[members, in, out]``. The forward pass is a batched matrix product per layer
(``tf.linalg.matmul``), the bias, then Keras' own activation functions; each member's loss
is Keras' loss function averaged over that member's rows; in a step the members' losses
are summed, so the gradient with respect to member ``m``'s weights is exactly its own, and
the update is ``member_optimizers``' Keras arithmetic with a per-member rate. Nothing here
mixes members. ``population.Population`` compiles these into one epoch function.
TensorFlow is imported inside the functions, after ``runtime.import_keras`` pinned it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from lrstudy.config import ModelConfig
from lrstudy.data import Dataset
from lrstudy.runtime import import_keras

Tensor = Any  # a tf.Tensor (TensorFlow is imported inside the functions)


class StackedNetwork:
    """The forward pass, loss and accuracy of stacked members (TensorFlow ops, Keras' math).

    The output activation is Keras' sigmoid (2 classes) or softmax, which keep their
    logits, so Keras' cross-entropy is computed from the logits as in ``fit``.
    """

    def __init__(self, model_config: ModelConfig, n_classes: int) -> None:
        keras = import_keras()

        self.binary = n_classes == 2
        hidden = keras.activations.get(model_config.activation)
        output = keras.activations.sigmoid if self.binary else keras.activations.softmax
        self.activations = [hidden] * len(model_config.hidden_units) + [output]
        losses, metrics = keras.losses, keras.metrics
        if self.binary:
            self.loss_fn, self.accuracy_fn = losses.binary_crossentropy, metrics.binary_accuracy
        else:
            self.loss_fn = losses.sparse_categorical_crossentropy
            self.accuracy_fn = metrics.sparse_categorical_accuracy

    def forward(self, weights: list, inputs: Tensor) -> Tensor:
        """Probabilities ``[members, rows, outputs]`` of inputs ``[members, rows, features]``."""
        tf = tensorflow_module()

        hidden = inputs
        for index, activation in enumerate(self.activations):
            kernel, bias = weights[2 * index], weights[2 * index + 1]
            hidden = activation(tf.linalg.matmul(hidden, kernel) + bias[:, None, :])
        return hidden

    def labels(self, targets: Tensor) -> Tensor:
        """Targets ``[members, rows]`` in the shape Keras' loss takes for the output."""
        return targets[..., None] if self.binary else targets

    def loss(self, targets: Tensor, probabilities: Tensor) -> Tensor:
        """Each member's mean loss over its rows, shape ``[members]`` (Keras' sum / rows)."""
        return member_mean(self.loss_fn(self.labels(targets), probabilities))

    def correct(self, targets: Tensor, probabilities: Tensor) -> Tensor:
        """1.0 where a row is classified right, shape ``[members, rows]`` (Keras' accuracy)."""
        tf = tensorflow_module()

        hits = self.accuracy_fn(self.labels(targets), probabilities)
        return tf.reshape(hits, [tf.shape(targets)[0], -1])

    def evaluate(self, weights: list, inputs: Tensor, targets: Tensor) -> tuple:
        """Loss and accuracy per member of one pass over all rows, as Keras' ``test_step``."""
        tf = tensorflow_module()

        probabilities = self.forward(weights, inputs)
        loss = self.loss(targets, probabilities)
        rows = tf.cast(tf.shape(targets)[1], tf.float32)
        # Keras' Mean tracker of a one-batch pass: (loss * rows) / rows.
        loss = tf.math.divide_no_nan(loss * rows, rows)
        return loss, member_mean(self.correct(targets, probabilities))


def tensorflow_module() -> Any:
    """The ``tensorflow`` module, imported after ``runtime.import_keras`` pinned it."""
    import_keras()
    import tensorflow as tf

    return tf


def member_mean(values: Tensor) -> Tensor:
    """``[members, rows]`` → ``[members]``: the sum over rows divided by their count."""
    tf = tensorflow_module()

    rows = tf.cast(tf.shape(values)[1], values.dtype)
    return tf.math.divide_no_nan(tf.reduce_sum(values, axis=1), rows)


def step_function(
    network: StackedNetwork, train: Dataset, batch_size: int, apply: Callable
) -> Callable:
    """One optimizer step of every member, as a ``tf.while_loop`` body.

    The body takes ``(orders, member_streams, rates, iterations)`` and the loop state
    ``(index, weights, slots, totals, losses)`` and returns the next loop state: totals are
    Keras' running sums of the epoch's loss (weighted by batch rows) and hits, ``losses``
    each step's batch loss per member. ``orders`` holds one row order per stream
    ``[streams, n_train]``, ``member_streams`` the stream of each member ``[members]``: a
    batch is gathered row by row once per stream, then copied whole to its members (the
    LR sweep's 16 rates of a seed), which moves the same values as a gather per member at
    a sixteenth of the per-row work. ``apply`` is ``MemberOptimizer.apply`` (every
    weight's step).
    """
    tf = tensorflow_module()

    x = tf.constant(train.x, tf.float32)
    y = tf.constant(train.y.astype(np.float32))

    def step(orders, member_streams, rates, iterations, index, weights, slots, totals, losses):
        rows = orders[:, index * batch_size : (index + 1) * batch_size]
        inputs = tf.gather(tf.gather(x, rows), member_streams)
        targets = tf.gather(tf.gather(y, rows), member_streams)
        with tf.GradientTape() as tape:
            tape.watch(weights)
            probabilities = network.forward(weights, inputs)
            loss = network.loss(targets, probabilities)
            total = tf.reduce_sum(loss)  # summed: member m's gradient is its own
        gradients = tape.gradient(total, weights)
        lr, now = rates[:, index], iterations + tf.cast(index, tf.int64)
        new_weights, new_slots = apply(weights, gradients, slots, lr, now)
        batch = tf.cast(tf.shape(rows)[1], tf.float32)
        correct = network.correct(targets, probabilities)
        loss_total, loss_count, hit_total, hit_count = totals
        totals = (
            loss_total + loss * batch,
            loss_count + batch,
            hit_total + tf.reduce_sum(correct, axis=1),
            hit_count + tf.cast(tf.shape(correct)[1], tf.float32),
        )
        return index + 1, new_weights, new_slots, totals, losses.write(index, loss)

    return step


def epoch_function(
    network: StackedNetwork,
    step: Callable,
    steps_per_epoch: int,
    val: Dataset | None,
    evaluate: Callable = lambda weight, slots: weight,
) -> Callable:
    """One epoch of every member: ``step`` in a ``tf.while_loop``, then the validation pass.

    Validation runs on ``evaluate(weight, its slots)`` per weight
    (``MemberOptimizer.evaluated``: Schedule-Free's average ``x``, else the weight).

    The function takes ``(weights, slots, iterations, orders, member_streams, rates)``
    (orders ``[streams, n_train]``, member_streams ``[members]``, rates ``[members,
    steps_per_epoch]``: ``step_function``) and returns the new weights and slots, the
    metrics ``[4, members]`` (loss, accuracy, val_loss, val_accuracy; NaN validation
    without ``val``) and each step's batch loss ``[members, steps_per_epoch]``.
    """
    tf = tensorflow_module()

    if val is not None:
        val_x = tf.constant(val.x, tf.float32)[None]
        val_y = tf.constant(val.y.astype(np.float32))[None]

    def one_epoch(weights, slots, iterations, orders, member_streams, rates):
        members = tf.shape(member_streams)[0]
        zeros = tf.zeros([members], tf.float32)
        _, weights, slots, totals, losses = tf.while_loop(
            lambda index, *_: index < steps_per_epoch,
            lambda *loop: step(orders, member_streams, rates, iterations, *loop),
            (
                tf.constant(0),
                weights,
                slots,
                (zeros, zeros, zeros, zeros),
                tf.TensorArray(tf.float32, size=steps_per_epoch),
            ),
        )
        loss_total, loss_count, hit_total, hit_count = totals
        metrics = [
            tf.math.divide_no_nan(loss_total, loss_count),
            tf.math.divide_no_nan(hit_total, hit_count),
        ]
        if val is None:
            nan = tf.fill([members], tf.constant(np.nan, tf.float32))
            metrics += [nan, nan]
        else:
            inputs = tf.broadcast_to(val_x, [members, *val_x.shape[1:]])
            targets = tf.broadcast_to(val_y, [members, val_y.shape[1]])
            # Validated at the weights saved (Schedule-Free: the average x).
            evaluated = [evaluate(w, tuple(s[k] for s in slots)) for k, w in enumerate(weights)]
            metrics += list(network.evaluate(evaluated, inputs, targets))
        return weights, slots, tf.stack(metrics), tf.transpose(losses.stack())

    return one_epoch
