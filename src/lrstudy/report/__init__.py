"""The comparison's tables and text: plot data, metrics.json, summary.md, ``make metrics``.

One module per reason to change, imported where needed (this file imports none, so the
PR report can use ``formatting`` and ``figures`` without pandas or NumPy):

- ``curves``: per-seed histories → per-epoch statistics and the plot files;
- ``summary``: one setting's results (``SettingSummary``), the comparison with the best
  and reports/metrics.json;
- ``formatting``: how numbers and lists print, shared with the PR report;
- ``reading``: the plain-language paragraph of the summary;
- ``figures``: the figures of the comparison and their captions;
- ``markdown``: the settings table, reports/summary.md and the metrics table;
- ``command``: ``python -m lrstudy.report [metrics.json]`` (``make metrics``).
"""
