"""The e2e tests' screenshots (tests.conftest.screenshot) are pictures kept for people to look at, never a
check: when Chromium cannot capture the whole page, the window is kept; when it cannot capture anything, the test
goes on to the checks that decide it."""

import struct

import pytest

from tests.conftest import screenshot


def png_size(path) -> tuple[int, int]:
    """Width and height from a PNG's header (IHDR)."""
    return struct.unpack(">II", path.read_bytes()[16:24])


def test_the_window_when_the_whole_page_cannot_be_captured(page, tmp_path):
    page.set_viewport_size({"width": 400, "height": 300})
    # Beyond what Chromium captures at once: "Protocol error (Page.captureScreenshot): Unable to capture
    # screenshot", the error of the parallel CI run.
    page.set_content('<main style="width: 40000px; height: 40000px"><h1>Seite</h1></main>')
    path = tmp_path / "shots" / "huge.png"

    screenshot(page, path)

    assert png_size(path) == (400, 300)
    assert page.locator("h1").inner_text() == "Seite"  # the page is still there for the test's own checks


def test_the_whole_page_when_it_can_be(page, tmp_path):
    page.set_viewport_size({"width": 400, "height": 300})
    page.set_content('<main style="height: 900px"><h1>Seite</h1></main>')
    path = tmp_path / "page.png"

    screenshot(page, path)

    assert png_size(path) == (400, 900 + 2 * 8)  # the body's default margin above and below


def test_no_picture_at_all_is_a_warning_not_a_failure(page, tmp_path):
    page.set_content("<h1>Seite</h1>")
    page.close()  # neither the page nor its window can be captured any more
    path = tmp_path / "closed.png"

    with pytest.warns(UserWarning, match="no screenshot closed.png"):
        screenshot(page, path)

    assert not path.exists()
