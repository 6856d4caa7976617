"""Every static figure of the study: data in, matplotlib ``Figure`` out.

Figures are built with the object-oriented API on ``matplotlib.figure.Figure`` (never
``pyplot``), so no global state is touched and nothing needs a GUI backend; ``save_figure``
writes a PNG atomically, without timestamp metadata, and closes the figure.

Every figure stays readable with many settings (a setting keeps the same colour and line
style in every figure; panel grids and legends are sized from the count) and with
diverged runs (non-finite values are gaps in a line and a diverged seed is marked with a
cross; nothing raises).

Modules: ``style`` (setting styles, panel grids, legends, saving), ``boundaries``
(decision boundaries), ``curves`` (learning curves and learning rates), ``accuracy``
(test accuracy), ``rates`` (the LR sweep and the LR range test) and ``tuned``
(the isolation and sensitivity figures of the tuned comparison). Their figure
functions are re-exported here: ``plots.lr_sweep(...)``.
"""

from __future__ import annotations

from lrstudy.plots.accuracy import ZOOM_WIDTH, test_accuracy
from lrstudy.plots.boundaries import decision_boundaries
from lrstudy.plots.curves import CURVE_PANELS, LOSS_CEILING_FACTOR, learning_curves, learning_rates
from lrstudy.plots.rates import (
    SPLIT_COLORS,
    SUGGESTION_COLORS,
    SUGGESTION_LINES,
    SUGGESTION_MARKERS,
    lr_range_test,
    lr_sweep,
)
from lrstudy.plots.style import (
    DPI,
    LEGEND_FONT_SIZE,
    LINE_STYLES,
    MARKERS,
    Style,
    close,
    grid_shape,
    legend_columns,
    save_figure,
    setting_styles,
)
from lrstudy.plots.tuned import isolation, sensitivity, tuned_accuracy

__all__ = [
    "CURVE_PANELS",
    "DPI",
    "LEGEND_FONT_SIZE",
    "LINE_STYLES",
    "LOSS_CEILING_FACTOR",
    "MARKERS",
    "SPLIT_COLORS",
    "SUGGESTION_COLORS",
    "SUGGESTION_LINES",
    "SUGGESTION_MARKERS",
    "ZOOM_WIDTH",
    "Style",
    "close",
    "decision_boundaries",
    "grid_shape",
    "isolation",
    "learning_curves",
    "learning_rates",
    "legend_columns",
    "lr_range_test",
    "lr_sweep",
    "save_figure",
    "sensitivity",
    "setting_styles",
    "test_accuracy",
    "tuned_accuracy",
]
