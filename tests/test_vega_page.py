"""The offline page template of ``dvc plots show`` (src/lrstudy/vega_page.py) and the
committed .dvc/plots/page.html that DVC uses: the three libraries inlined byte for byte as
pinned, each with its licence, and nothing loaded from the network."""

from __future__ import annotations

import html
from dataclasses import replace

import pytest
from dvc.config import Config

from lrstudy import vega_page
from lrstudy.vega_page import LIBRARIES, npm_integrity, script_block

from .conftest import PROJECT_ROOT

PAGE = (PROJECT_ROOT / vega_page.DEFAULT_OUT).read_text()
LICENSES = PROJECT_ROOT / vega_page.LICENSES


def inlined_scripts(page: str) -> list[str]:
    """The contents of every inline ``<script type="text/javascript">`` element, in order."""
    opening = '<script type="text/javascript">'
    parts = page.split(opening)[1:]
    return [part.split("</script>", 1)[0] for part in parts]


def test_dvc_uses_the_committed_template() -> None:
    config = Config(dvc_dir=PROJECT_ROOT / ".dvc")
    template = PROJECT_ROOT / ".dvc" / config["plots"]["html_template"]
    assert template == PROJECT_ROOT / vega_page.DEFAULT_OUT


def test_template_has_the_plots_placeholder_and_no_network_scripts() -> None:
    assert PAGE.count("{plot_divs}") == 1
    # Without {scripts} DVC has nowhere to put its CDN <script src=...> tags.
    assert "{scripts}" not in PAGE and "{refresh_tag}" not in PAGE
    assert "<script src" not in PAGE.lower()


def test_template_inlines_each_pinned_build_with_its_licence() -> None:
    scripts = inlined_scripts(PAGE)
    assert len(scripts) == len(LIBRARIES)
    for library, code in zip(LIBRARIES, scripts, strict=True):
        assert vega_page.sha256_hex(code.encode("utf-8")) == library.sha256, library.name
        licence = (LICENSES / f"{library.name}.txt").read_text()
        assert "Redistribution and use in source and binary forms" in licence
        block = PAGE.split(f"<!-- {library.name} {library.version} (npm, ")[1]
        assert block.index(html.escape(licence.strip(), quote=False)) < block.index("<script")


def test_npm_integrity_matches_a_published_digest() -> None:
    # sha512 of the empty string, base64 (FIPS 180-4 test vector
    # cf83e1357eefb8bd...a538327af927da3e in hex).
    assert npm_integrity(b"") == (
        "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg=="
    )


def pinned(code: str) -> vega_page.Library:
    return replace(LIBRARIES[0], sha256=vega_page.sha256_hex(code.encode("utf-8")))


def test_script_block_puts_the_licence_before_the_code() -> None:
    code = "var x = 1 < 2;"
    block = script_block(pinned(code), code, "BSD <licence> & more")
    assert block.index("BSD &lt;licence&gt; &amp; more") < block.index(code)
    assert inlined_scripts(block) == [code]


@pytest.mark.parametrize(
    ("code", "licence", "message"),
    [
        ("a = '</script>'", "BSD", "</script"),
        ("a = '{plot_divs}'", "BSD", "placeholder"),
        ("a = 1", "BSD -- text", "'--'"),
        ("a = 1", "see {scripts}", "placeholder"),
    ],
)
def test_script_block_refuses_what_would_break_the_page(code, licence, message) -> None:
    with pytest.raises(ValueError, match=message):
        script_block(pinned(code), code, licence)


def test_script_block_refuses_code_that_is_not_the_pinned_build() -> None:
    with pytest.raises(ValueError, match="sha256"):
        script_block(LIBRARIES[0], "tampered", "BSD")
