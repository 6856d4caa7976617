"""lrstudy: a reproducible study of learning rates and schedules on small Keras models.

Importing the package caps NumPy's CPU dispatch at AVX2 (``lrstudy.runtime.pin_numpy``)
before any of its modules imports NumPy, so the same params give the same bits on every
x86-64 CPU with AVX2.
"""

from lrstudy.runtime import pin_numpy

pin_numpy()

__version__ = "0.1.0"
