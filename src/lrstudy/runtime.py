"""The numeric runtime: NumPy's CPU dispatch, and the one place lrstudy imports TensorFlow.

``pin_numpy`` (called when the ``lrstudy`` package is imported, before any of it imports
NumPy) caps NumPy's run-time SIMD dispatch at AVX2. ``import_keras`` pins what
TensorFlow's arithmetic depends on besides the inputs (oneDNN's instruction set, thread
counts, op determinism, the gradients that would otherwise go through CPU-specific
approximate instructions) and hides the two benign lines TensorFlow prints while it is
imported. Importing this module imports neither.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext, suppress

# NumPy also picks kernels at run time from the CPU: on a CPU with AVX-512 (x86-64-v4) its
# float64 power, exp, log, ... run Intel's SVML kernels, which may differ from the correctly
# rounded value by a few ulp, where an AVX2 CPU calls the C library. Seen in the committed
# results: the LR range test's rates ``start * (end / start) ** (i / (n - 1))`` differed in
# the last bit between the AVX-512 machine that made them and an AVX2 one (lr_find's steep
# suggestion 0.42292428743894994 against 0.42292428743894983). Disabling NumPy's AVX-512
# targets (names of NumPy 2.4; unknown names are ignored) makes every x86-64 CPU with AVX2
# take the same kernels. NumPy reads the variable once, when it is imported.
NUMPY_ENVIRONMENT = {"NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR"}

# What TensorFlow's arithmetic depends on besides the inputs, pinned before it is imported.
# oneDNN (TensorFlow's CPU matrix kernels) picks its kernels at run time from the CPU's
# instruction set, so an AVX-512 and an AVX2 machine would compute different floats; capping
# it at AVX2, which every current x86-64 server and desktop CPU has, makes them compute the
# same ones (``DNNL_`` is the variable's older name). TensorFlow's own oneDNN graph rewrites
# are on by default on x86-64 Linux only: pinned on, as the committed results were made.
# oneDNN's floating-point math mode is pinned to its default, STRICT: a user's BF16 or TF32
# would let it compute in lower precision. Keras runs on the TensorFlow backend whatever
# the user's KERAS_BACKEND or ~/.keras/keras.json says (another backend is other arithmetic).
ARITHMETIC_ENVIRONMENT = {
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "DNNL_MAX_CPU_ISA": "AVX2",
    "ONEDNN_DEFAULT_FPMATH_MODE": "STRICT",
    "TF_ENABLE_ONEDNN_OPTS": "1",
    "KERAS_BACKEND": "tensorflow",
}
# Variables of the user's environment that change what Keras trains (``model.fit`` stops
# after this many epochs or steps per epoch): removed before Keras is imported.
IGNORED_ENVIRONMENT = ("KERAS_MAX_EPOCHS", "KERAS_MAX_STEPS_PER_EPOCH")
# Keras' global settings a user's ~/.keras/keras.json may change, set back to Keras' own
# defaults after the import: ``floatx`` is the weights' dtype, ``epsilon`` clips the
# probabilities in the cross-entropy.
KERAS_SETTINGS = {"floatx": "float32", "epsilon": 1e-7, "image_data_format": "channels_last"}
# Gradients TensorFlow computes with its ``Reciprocal`` op, replaced by a division. That
# kernel (Eigen, compiled into TensorFlow) starts from the CPU's approximate-reciprocal
# instruction (RCPPS), whose last bits are the CPU maker's own, then refines it once: its
# result is not correctly rounded and depends on the CPU, not on oneDNN or the cap above.
# The binary cross-entropy's gradient goes through Log1p's, so every optimizer step did.
# Log's is pinned too: Keras takes the log of the probabilities (not Log1p or LogSoftmax of
# the logits) when an output carries no logits; no model lrstudy builds does, today.
# A division is correctly rounded on every x86-64 CPU (measured: ``make cross-cpu``).
EXACT_GRADIENTS = ("Log1p", "Log")
# TensorFlow's thread pools. Intra-op: the threads one op splits its work over; one, so
# no op's reduction order depends on a thread count (and a model this small gains nothing
# from splitting an op: measured, a second one slowed a population of 20). Inter-op: the
# threads the executor runs independent ops on at once (a layer's two gradient products,
# each weight's optimizer update); each op still computes alone on one thread, so the bits
# are the same at any count (measured: every output of `dvc repro` byte-identical at 1
# and 2). Two: a population of 320 trained about 20 % faster than on one, measured side
# by side in alternating processes (README, "Speed"); fixed, not the core count, so a
# machine's cores change nothing but its speed.
INTRA_OP_THREADS = 1
INTER_OP_THREADS = 2


# What TensorFlow prints on stderr while it is imported, whatever TF_CPP_MIN_LOG_LEVEL says:
# its C++ code logs through Abseil before anything initialises Abseil's logging, and an
# uninitialised Abseil writes every message to stderr (ignoring the level), preceded by a
# warning saying so (abseil/abseil-cpp#1718, #1957; tensorflow/tensorflow#102212). Measured
# on TensorFlow 2.21 (x86-64 Linux): both lines twice, at import, none after it. Benign:
# the oneDNN line states what ARITHMETIC_ENVIRONMENT pins on purpose.
BENIGN_IMPORT_LINES = (
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR",
    r"I\d{4} [\d:.]+ +\d+ port\.cc:\d+\] oneDNN custom operations are on\. .*",
)
"""Regular expressions of whole stderr lines that ``import_keras`` drops (nothing else)."""

# The filter of ``quiet_stderr``: a separate process, not a thread, because the thread
# importing TensorFlow holds Python's lock while TensorFlow's C++ initialisers run, so a
# Python reader thread could not forward what a crash there printed before the process died;
# a process forwards everything up to the end of the pipe, even after a crash.
_FILTER = """\
import re, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the import, not the forwarding
benign = [re.compile(pattern.encode()) for pattern in sys.argv[1:]]
out = sys.stdout.buffer
for line in sys.stdin.buffer:
    if not any(p.fullmatch(line.rstrip(b"\\r\\n")) for p in benign):
        out.write(line)
        out.flush()
"""


def pin_numpy() -> None:
    """Cap NumPy's SIMD dispatch at AVX2 by setting ``NUMPY_ENVIRONMENT`` before NumPy loads.

    Called by ``lrstudy/__init__.py``, so a stage process (``python -m lrstudy.stages.…``)
    sets it before any module imports NumPy, whatever the user's environment says. Where
    NumPy was imported first (lrstudy used as a library after NumPy) on a CPU with AVX-512,
    the cap cannot take effect: it warns, since results may then differ in the last bits.
    (NumPy reports a target it dispatches to as True in ``__cpu_features__``, a disabled
    one as False.)
    """
    os.environ.update(NUMPY_ENVIRONMENT)
    numpy_core = sys.modules.get("numpy._core._multiarray_umath")
    if numpy_core is not None and getattr(numpy_core, "__cpu_features__", {}).get("X86_V4"):
        warnings.warn(
            "NumPy was imported before lrstudy on a CPU with AVX-512, so lrstudy could not cap "
            "its SIMD dispatch at AVX2: results may differ in the last bits from other "
            "machines; import lrstudy first",
            RuntimeWarning,
            stacklevel=2,
        )


# What the stages import besides the standard library (requirements.in's runtime part).
STAGE_PACKAGES = (
    "numpy", "pandas", "scipy", "sklearn", "matplotlib", "pydantic", "ruamel.yaml",
    "dvclive", "tensorflow", "keras",
)  # fmt: skip


def missing_packages(names: Sequence[str] = STAGE_PACKAGES) -> list[str]:
    """The modules of ``names`` this Python cannot import (found, not imported: cheap)."""
    from importlib.util import find_spec

    missing = []
    for name in names:
        try:
            found = find_spec(name) is not None
        except ModuleNotFoundError:  # a dotted name whose parent is missing
            found = False
        if not found:
            missing.append(name)
    return missing


def require_stage_packages() -> None:
    """Exit with status 2 and one line when this Python lacks what the stages import.

    A stage run by a Python outside the project's venv (``python -m lrstudy.stages.train``
    with the system's ``python``) would otherwise die with a traceback ending in
    ``No module named 'pandas'``; this says which Python it was and how to get the venv's.
    """
    missing = missing_packages()
    if missing:
        print(
            f"error: {sys.executable} lacks {', '.join(missing)}: run the stages with "
            "`make repro`, or activate the project's venv first (`. .venv/bin/activate`; "
            "`make venv` builds it)",
            file=sys.stderr,
        )
        raise SystemExit(2)


@contextmanager
def quiet_stderr(patterns: Sequence[str] = BENIGN_IMPORT_LINES) -> Iterator[None]:
    """Drop stderr lines matching ``patterns`` while the block runs; forward every other.

    File descriptor 2 itself (what C++ code writes to, not just ``sys.stderr``) goes
    through a pipe to a small filter process that writes every other line, as it comes,
    to the real stderr; after the block fd 2 is restored and the filter drains the pipe.
    Where fd 2 cannot be redirected (no stderr at all), the block runs unfiltered. Lines
    keep their order among themselves, not relative to stdout.
    """
    if sys.stderr is not None:
        sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    read_end, write_end = os.pipe()
    try:
        filter_process = subprocess.Popen(
            [sys.executable, "-I", "-c", _FILTER, *patterns], stdin=read_end, stdout=saved
        )
    except OSError:
        os.close(read_end)
        os.close(write_end)
        os.close(saved)
        yield
        return
    os.close(read_end)
    os.dup2(write_end, 2)
    os.close(write_end)
    try:
        yield
    finally:
        if sys.stderr is not None:
            with suppress(OSError):  # a filter gone (Ctrl-C): restore fd 2 all the same
                sys.stderr.flush()
        os.dup2(saved, 2)  # the pipe's last write end here: the filter reads to its end
        os.close(saved)
        # A process started inside the block may hold the pipe open: then the filter
        # keeps forwarding its lines in the background.
        with suppress(subprocess.TimeoutExpired):
            filter_process.wait(timeout=10)


def import_keras():
    """Import Keras (TensorFlow backend) with its arithmetic pinned; return the module.

    The one place lrstudy imports TensorFlow. Before the import it sets
    ``ARITHMETIC_ENVIRONMENT`` (oneDNN capped at AVX2 in strict math, the TensorFlow
    backend), removes ``IGNORED_ENVIRONMENT`` and sets ``TF_CPP_MIN_LOG_LEVEL=2``;
    during it, drops the ``BENIGN_IMPORT_LINES`` TensorFlow prints regardless of that
    level (``quiet_stderr``; every other line, an error included, still shows, unless
    ``TF_CPP_MIN_LOG_LEVEL=0`` asks for everything); after it, ``INTRA_OP_THREADS`` and
    ``INTER_OP_THREADS``, ``KERAS_SETTINGS`` (whatever keras.json says), op determinism and the
    gradients of ``EXACT_GRADIENTS`` as divisions. Same
    params then give the same bits on any x86-64 CPU with AVX2 (checked under emulated
    Intel and AMD CPUs by ``make cross-cpu``).

    Raises:
        RuntimeError: if TensorFlow already started its runtime with other thread counts,
            or Keras was imported with another backend (something imported and used them
            before lrstudy could pin them).
    """
    os.environ.update(ARITHMETIC_ENVIRONMENT)
    for name in IGNORED_ENVIRONMENT:
        os.environ.pop(name, None)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    everything = os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0" or "tensorflow" in sys.modules
    with nullcontext() if everything else quiet_stderr():
        import keras
        import tensorflow as tf

    threading = tf.config.threading
    pinned = (INTRA_OP_THREADS, INTER_OP_THREADS)
    try:
        threading.set_intra_op_parallelism_threads(INTRA_OP_THREADS)
        threading.set_inter_op_parallelism_threads(INTER_OP_THREADS)
    except RuntimeError as error:  # the runtime is already running: only accept our counts
        counts = (
            threading.get_intra_op_parallelism_threads(),
            threading.get_inter_op_parallelism_threads(),
        )
        if counts != pinned:
            raise RuntimeError(
                "TensorFlow was initialised before lrstudy pinned its threads (intra-op, "
                f"inter-op) to {pinned}: they are {counts}; import Keras through "
                "lrstudy.runtime.import_keras() first"
            ) from error
    if keras.config.backend() != "tensorflow":
        raise RuntimeError(
            f"Keras was imported with the {keras.config.backend()!r} backend before lrstudy "
            "could pin it to TensorFlow; import Keras through lrstudy.runtime.import_keras()"
        )
    keras.config.set_floatx(KERAS_SETTINGS["floatx"])
    keras.config.set_epsilon(KERAS_SETTINGS["epsilon"])
    keras.config.set_image_data_format(KERAS_SETTINGS["image_data_format"])
    tf.get_logger().setLevel("ERROR")
    tf.config.experimental.enable_op_determinism()
    _use_exact_gradients(EXACT_GRADIENTS)
    return keras


def _log1p_gradient(op: object, grad: object) -> object:
    """Log1p's gradient ``grad / (1 + x)``: a division, not ``grad * reciprocal(1 + x)``.

    TensorFlow's own multiplies by ``Reciprocal``, which is not correctly rounded and
    differs between CPU makers; a division is correctly rounded everywhere.
    """
    from tensorflow.python.framework import ops
    from tensorflow.python.ops import math_ops

    x = op.inputs[0]
    with ops.control_dependencies([grad]):
        return grad / (1 + math_ops.conj(x))


def _log_gradient(op: object, grad: object) -> object:
    """Log's gradient ``grad / x``: a division, not ``grad * reciprocal(x)`` (as for Log1p)."""
    from tensorflow.python.framework import ops
    from tensorflow.python.ops import math_ops

    x = op.inputs[0]
    with ops.control_dependencies([grad]):
        return grad / math_ops.conj(x)


_EXACT_GRADIENT_FUNCTIONS = {"Log1p": _log1p_gradient, "Log": _log_gradient}


def _use_exact_gradients(names: tuple[str, ...]) -> None:
    """Register ``_EXACT_GRADIENT_FUNCTIONS[name]`` as the gradient of each op in ``names``.

    TensorFlow has no public way to replace a registered gradient (``tf.RegisterGradient``
    refuses a name twice), so this writes to its gradient registry, and fails loudly if a
    TensorFlow version no longer has it.
    """
    from tensorflow.python.framework import ops

    try:
        registry = ops._gradient_registry._registry
    except AttributeError as error:  # pragma: no cover - a TensorFlow without the registry
        raise RuntimeError(
            "lrstudy cannot pin TensorFlow's gradients: tensorflow.python.framework.ops has "
            "no _gradient_registry (TensorFlow changed); see lrstudy.runtime.EXACT_GRADIENTS"
        ) from error
    for name in names:
        registry[name]["type"] = _EXACT_GRADIENT_FUNCTIONS[name]
