"""The figures of the comparison: file name, title and caption of each, in report order.

The compare stage draws them under reports/figures/, ``summary_markdown`` embeds them
with their captions and the PR report shows each revision's. Standard library only, so
the PR report reads this list without importing pandas or NumPy.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FigureEntry:
    """A figure of the report: its file under reports/figures/, title and caption."""

    file: str
    title: str
    caption: str


FIGURES = (
    FigureEntry(
        "tuned_accuracy.png",
        "Test accuracy per setting, each at its tuned base rate",
        "As the next figure, for each setting retrained at its tuned base rate (written "
        "after its name) on the evaluation seeds: the rate was chosen on validation "
        "accuracy over the tuning seeds, which this figure does not reuse. Bold: the best "
        "tuned setting on validation accuracy, the reference of the tuned comparison.",
    ),
    FigureEntry(
        "isolation.png",
        "Isolation plot: accuracy against base rate",
        "Each setting trained at every base rate of the tuning grid (params `tune`), its "
        "schedule's shape kept: the line is the mean over the tuning seeds, the faint band "
        "their min–max, the dot the tuned rate (highest mean validation accuracy; a tie "
        "goes to the lower rate). Left validation accuracy (what chooses), right test "
        "accuracy (for reading only). The dashed line is chance.",
    ),
    FigureEntry(
        "sensitivity.png",
        "Sensitivity to the base rate",
        "Per setting the contiguous range of grid rates around the tuned one whose mean "
        "validation accuracy is within `tune.margin` of the best, its width in decades at "
        "the right (0: only the tuned rate qualifies); the dot is the tuned rate, the open "
        "diamond the hand-picked rate of `settings`. Widest range, the least fussy "
        "setting, on top; a range that reaches a dotted line may go on beyond the grid.",
    ),
    FigureEntry(
        "test_accuracy.png",
        "Test accuracy per setting",
        "Each dot is one seed; the black bar is the mean over seeds and its whisker the "
        "95 % confidence interval of the mean (Student t on the logit scale: inside [0, 1], "
        "never cut); a red cross is a seed that "
        "diverged (no accuracy); the dashed line is chance. Sorted by mean test accuracy, "
        "highest on top; the name in bold is the best on validation accuracy, the "
        "reference of the comparisons below. Where the best settings crowd together, the "
        "right panel zooms in on them; a whisker that runs off that panel's edge goes on "
        "beyond it (its cap is at the interval's end, out of view).",
    ),
    FigureEntry(
        "learning_curves.png",
        "Learning curves",
        "Training and validation loss (log scale) and accuracy per epoch: the line is the "
        "mean over seeds, the band the min–max over seeds. A cross near a panel's top edge "
        "marks the first epoch at which a seed's loss was NaN or infinite.",
    ),
    FigureEntry(
        "learning_rate.png",
        "Learning rate",
        "The rate the optimizer really used (log scale), per step where a schedule "
        "changes it within an epoch; one thin line per seed where seeds differ "
        "(reduce-on-plateau).",
    ),
    FigureEntry(
        "decision_boundaries.png",
        "Decision boundaries",
        "P(y = 1) over the input plane for each setting's median seed (by test "
        "accuracy), shaded; the black line is the decision boundary, P(y = 1) = 0.5, drawn "
        "over the test points (small dots coloured by their true class).",
    ),
    FigureEntry(
        "lr_sweep.png",
        "LR sweep",
        "Validation and test accuracy after training at each constant rate of the sweep's "
        "log grid (line: mean over seeds; band: min–max; dots: single seeds); the green "
        "line is the best rate by validation accuracy, the green band the rates within one "
        "standard error of it, diamonds the study's constant-rate settings. A red box warns "
        "when the best rate is at an edge of the grid.",
    ),
    FigureEntry(
        "lr_find.png",
        "LR range test",
        "Smoothed training loss while the rate rises exponentially every optimizer step: "
        "one thin grey line per seed, up to divergence, and their median in black; "
        "coloured markers are each seed's suggestions, vertical lines of the same colour "
        "their medians over seeds (what settings under `suggested` use).",
    ),
)
