"""lrstudy: a reproducible study of learning rates and schedules on small Keras models."""

__version__ = "0.1.0"
