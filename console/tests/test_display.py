"""How values are shown: binary sizes, and keys whose hidden characters are marked."""

from __future__ import annotations

from console.display import human_size, visible_html, visible_text


def test_sizes_are_in_binary_units():
    assert human_size(0) == "0 B"
    assert human_size(1536) == "1.5 KiB"
    assert human_size(5 * 1024**3) == "5.0 GiB"


def test_sizes_write_their_numbers_as_the_active_language_does():
    from django.utils import translation

    with translation.override("de"):  # a comma separates decimals in German
        assert human_size(1536) == "1,5 KiB"
        assert human_size(1023) == "1023 B"
    with translation.override("zh-hans"):
        assert human_size(1536) == "1.5 KiB"
    # Rounded, not cut off: 1.96 KiB reads 2.0 KiB.
    assert human_size(int(1.96 * 1024)) == "2.0 KiB"


def test_bidi_controls_and_invisible_characters_are_marked_and_the_rest_escaped():
    html = visible_html("<b>rtl\u202egnp.exe\u200b\t\x00")
    assert html.startswith("&lt;b&gt;rtl")
    assert '<mark class="ctl" title="RIGHT-TO-LEFT OVERRIDE">U+202E</mark>' in html
    assert '<mark class="ctl" title="ZERO WIDTH SPACE">U+200B</mark>' in html
    assert ">U+0009</mark>" in html and ">U+0000</mark>" in html
    for char in "\u202e\u200b\t\x00":
        assert char not in html


def test_printable_names_pass_unchanged_in_any_script():
    for name in ["报告\u30002024.txt", "emoji😀.txt", "naïve café", "a b"]:
        assert visible_text(name) == name
        assert "<mark" not in visible_html(name)
    assert visible_text("x\u2066y") == "x[U+2066]y"
