"""The pull-request report: what a change does to the params, the metrics and the figures.

``make pr-report BASE=main`` (``python -m lrstudy.pr_report --base main``) compares the
workspace with a base revision and writes one markdown file, the same one the GitHub
workflow posts as a PR comment:

- the changed settings' test accuracy, base against head: each mean with its 95 %
  interval, the change with its interval (seeds paired) and whether it is within seed
  noise, to the digits the seed spread supports; then the same as a text figure, each
  seed and the interval of the mean of both revisions on one scale per setting (text,
  because a comment shows only images committed somewhere; see ``accuracy_chart``);
- ``dvc params diff`` and ``dvc metrics diff`` against the base, as markdown tables;
- the comparison figures: the head's full width, the base's folded below each, with the
  names of the settings the change touches said above them.

Figures: in GitHub Actions (``GITHUB_SERVER_URL`` and ``GITHUB_REPOSITORY`` set, or
``--repo-url``) they link to the committed PNGs of each revision on GitHub, which a comment
can show with only the default token; elsewhere they are relative paths from the report
file (the base revision's PNGs are copied out of git beside the report).

Modules, imported where needed (this file imports none):

- ``rendering``, ``accuracy``, ``diffs`` and ``text_chart``: the markdown, pure functions
  of parsed ``dvc params diff --json`` / ``dvc metrics diff --json`` output and the two
  revisions' ``reports/metrics.json``;
- ``revisions``: every git and dvc call;
- ``freshness``: whether the committed results are current (``--check-committed``);
- ``command``: the command line (``__main__``).
"""
