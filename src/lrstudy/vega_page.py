"""The page of ``dvc plots show`` / ``dvc plots diff``, with Vega inlined so it works offline.

DVC's own page loads Vega, Vega-Lite and vega-embed from a CDN: without network its
interactive charts silently do not appear. ``.dvc/config`` points DVC at the HTML template
``.dvc/plots/page.html`` instead (``plots.html_template``), which this module builds: the
three libraries' minified builds from their npm packages, inlined byte for byte, each after
its licence (all three are BSD-3-Clause). DVC fills the template's ``{plot_divs}`` with one
``<div>`` per chart, each calling ``vegaEmbed``; the template has no ``{scripts}``
placeholder, so DVC's CDN ``<script src=...>`` tags are left out.

``make vega-page`` rebuilds the committed template (needs npm and the npm registry):
``npm pack`` fetches each pinned version, whose tarball must match the pinned sha512
integrity, and whose build file must match the pinned sha256. Pure functions build the
page; only :func:`main` downloads.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lrstudy.io import write_text

DEFAULT_OUT = Path(".dvc/plots/page.html")
LICENSES = Path(".dvc/plots/licenses")
"""Licence texts, one ``<package>.txt`` each (vega's npm package ships none: its text is
the LICENSE of the vega/vega repository at tag v5.33.1)."""

DVC_PLACEHOLDERS = ("{plot_divs}", "{scripts}", "{refresh_tag}")
"""Every string DVC replaces in a template (``dvc_render.html.HTML.embed``)."""


@dataclass(frozen=True)
class Library:
    """One npm package inlined into the page.

    Attributes:
        name: npm package name.
        version: exact version.
        integrity: npm's ``dist.integrity`` of the tarball (``sha512-<base64>``).
        script: the browser build inside the package (path below ``package/``).
        sha256: hex sha256 of that build file.
    """

    name: str
    version: str
    integrity: str
    script: str
    sha256: str


# The versions DVC 3.67's page asks for are vega@5.20.2, vega-lite@5.2.0, vega-embed@6.18.2;
# these are the newest releases of the same major versions (the templates in .dvc/plots
# are Vega-Lite v5 specs). Order matters: vega-lite needs vega, vega-embed needs both.
LIBRARIES = (
    Library(
        "vega",
        "5.33.1",
        "sha512-1fArfVDUqVbb5z8n+/nVQb+VNBzx8svY6CrsyTK4Ujm4yrd9I1auoKxBAPXLCavY1LcrbHUskQbGUP8gXOzyQw==",
        "build/vega.min.js",
        "463f3db6a40b20e9747b4ed38f37ed0add508838f9141b1cf8366784b07b30c8",
    ),
    Library(
        "vega-lite",
        "5.23.0",
        "sha512-l4J6+AWE3DIjvovEoHl2LdtCUkfm4zs8Xxx7INwZEAv+XVb6kR6vIN1gt3t2gN2gs/y4DYTs/RPoTeYAuEg6mA==",
        "build/vega-lite.min.js",
        "58c27358e26f2d319cf62f45bc17a4c8362f08645001df2ec8d341eee4097c7f",
    ),
    Library(
        "vega-embed",
        "6.29.0",
        "sha512-PmlshTLtLFLgWtF/b23T1OwX53AugJ9RZ3qPE2c01VFAbgt3/GSNI/etzA/GzdrkceXFma+FDHNXUppKuM0U6Q==",
        "build/vega-embed.min.js",
        "12d02acfbe3ec59ef9a37dd4822a2e04e2961b5bbb671bbe661d2221715b99da",
    ),
)

HEAD = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>lrstudy: DVC plots</title>
<!-- Built by `make vega-page` (src/lrstudy/vega_page.py); do not edit by hand.
     DVC replaces the plot_divs placeholder in the body with one div per chart. -->
<style>
  body { font-family: sans-serif; margin: 16px; }
  body > div { margin-bottom: 24px; }
  img { max-width: 100%; }
</style>
"""

TAIL = """</head>
<body>
{plot_divs}
</body>
</html>
"""


def sha256_hex(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def npm_integrity(data: bytes) -> str:
    """The ``dist.integrity`` string npm records for a tarball: ``sha512-`` + base64 sha512."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def script_block(library: Library, code: str, licence: str) -> str:
    """One library as an HTML comment (name, version, licence text) and an inline script.

    Raises:
        ValueError: the code's sha256 is not the pinned one, or the code or licence holds
            something that would end the script or comment early or that DVC would replace.
    """
    if sha256_hex(code.encode("utf-8")) != library.sha256:
        raise ValueError(f"{library.name} {library.script}: sha256 differs from the pinned one")
    if "</script" in code.lower():
        raise ValueError(f"{library.name}: the code contains '</script' and cannot be inlined")
    if "--" in licence:
        raise ValueError(f"{library.name}: the licence text contains '--' (ends a comment)")
    for text in (code, licence):
        for placeholder in DVC_PLACEHOLDERS:
            if placeholder in text:
                raise ValueError(f"{library.name}: contains DVC's placeholder {placeholder}")
    header = (
        f"<!-- {library.name} {library.version} (npm, {library.integrity}), "
        f"package/{library.script}, sha256 {library.sha256}. Licence:\n"
        f"{html.escape(licence.strip(), quote=False)}\n-->\n"
    )
    return f'{header}<script type="text/javascript">{code}</script>\n'


def page_template(blocks: Sequence[str]) -> str:
    """The whole HTML template: head with the script blocks, body with DVC's placeholder."""
    return HEAD + "".join(blocks) + TAIL


def _npm_pack(library: Library, directory: Path) -> Path:
    """Download a package with ``npm pack``; its tarball, checked against the pin.

    Raises:
        ValueError: the tarball's integrity is not the pinned one.
    """
    spec = f"{library.name}@{library.version}"
    subprocess.run(
        ["npm", "pack", "--silent", "--pack-destination", str(directory), spec],
        check=True,
        capture_output=True,
    )
    tarball = directory / f"{library.name}-{library.version}.tgz"
    if npm_integrity(tarball.read_bytes()) != library.integrity:
        raise ValueError(f"{spec}: the tarball's integrity differs from the pinned one")
    return tarball


def _member(tarball: Path, name: str) -> str:
    with tarfile.open(tarball) as archive:
        member = archive.extractfile(f"package/{name}")
        if member is None:
            raise ValueError(f"{tarball.name} has no package/{name}")
        return member.read().decode("utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Download the pinned packages and write the template; exit 2 on a mismatch."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="template to write")
    parser.add_argument("--licenses", type=Path, default=LICENSES, help="licence texts")
    args = parser.parse_args(argv)
    blocks = []
    try:
        with tempfile.TemporaryDirectory() as scratch:
            for library in LIBRARIES:
                tarball = _npm_pack(library, Path(scratch))
                licence = (args.licenses / f"{library.name}.txt").read_text()
                blocks.append(script_block(library, _member(tarball, library.script), licence))
    except (ValueError, OSError, subprocess.CalledProcessError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    write_text(args.out, page_template(blocks))
    print(f"HTML template for dvc plots → {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
