"""Tablets and narrow screens (issue 21): every role's home page and the pages of its menu fit a
768 px tablet and a 1,280 px screen, with no page wider than its viewport; the menu collapses
behind the toggler below 992 px and groups a role's many entries into dropdowns.

Screenshots go to the test output directory (pytest-playwright's --output, per test). The tests
only sign in and read, so the module shares one demo trial (shared_demo,
tests/browser/conftest.py)."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from ..factories import PASSWORD

ROLES = [
    "coordinator",
    "investigator",
    "pharmacist",
    "monitor",
    "datamanager",
    "statistician",
    "sponsor",
]
WIDTHS = (768, 1280)
DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "img"


def menu_urls(page) -> list[str]:
    """Every page of the menu, including those folded into a dropdown."""
    hrefs = page.locator("nav.navbar a.nav-link, nav.navbar a.dropdown-item").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    return list(dict.fromkeys(hrefs))


def assert_fits(page, width: int, where: str) -> None:
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{where} is {scroll_width} px wide at a {width} px viewport"


@pytest.mark.parametrize("username", ROLES)
def test_every_page_of_a_role_fits_a_tablet_and_a_screen(
    shared_demo, sign_in, live_server, username, output_path
):
    out = Path(output_path)
    out.mkdir(parents=True, exist_ok=True)
    page = sign_in(username, PASSWORD)
    urls = ["/", *[u for u in menu_urls(page) if u != "/"]]
    assert len(urls) > 1, "the menu offers this role no page"
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for url in urls:
            page.goto(f"{live_server.url}{url}")
            page.wait_for_load_state()
            assert_fits(page, width, url)
            name = url.strip("/").replace("/", "-") or "home"
            page.screenshot(path=str(out / f"{username}-{width}-{name}.png"), full_page=True)
        page.goto(f"{live_server.url}/")
        toggler = page.locator("nav.navbar .navbar-toggler")
        if width < 992:
            # Collapsed: the toggler opens the menu, whose every entry then fits the width.
            expect(toggler).to_be_visible()
            expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
            toggler.click()
            expect(page.get_by_role("button", name="Sign out")).to_be_visible()
            assert_fits(page, width, "the open menu")
        else:
            expect(toggler).to_be_hidden()
            # Every entry of the menu bar, and Sign out, inside the viewport.
            sign_out = page.get_by_role("button", name="Sign out").bounding_box()
            assert sign_out is not None
            assert sign_out["x"] + sign_out["width"] <= width
            for box in page.locator("nav.navbar .navbar-nav > li").evaluate_all(
                "items => items.map(i => i.getBoundingClientRect().right)"
            ):
                assert box <= width
        page.screenshot(path=str(out / f"{username}-{width}-menu.png"))


def test_the_data_manager_opens_the_record_status_grid_from_a_grouped_menu(
    shared_demo, sign_in, output_path
):
    page = sign_in("datamanager", PASSWORD)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_test_id("nav-group-data").click()
    page.get_by_role("link", name="Record status").click()
    expect(page.get_by_role("heading", name="Record status")).to_be_visible()
    expect(page.get_by_test_id("status-legend")).to_contain_text("open query")
    icon = page.get_by_test_id("status-grid").locator("a.edc-rs").first
    expect(icon).to_be_visible()
    Path(output_path).mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(Path(output_path) / "record-status-1280.png"), full_page=True)
    if os.environ.get("EDC_UPDATE_DOCS_IMAGES"):  # the README's copy (docs/img)
        page.screenshot(path=str(DOCS_IMAGES / "record-status.png"))
    label = icon.get_attribute("title")
    icon.click()
    page.wait_for_load_state()
    # The icon opened the CRF it stands for (read-only review for the data manager).
    crf_name = label.split(":")[0].split(" · ")[1]
    expect(page.get_by_role("heading", level=1)).to_contain_text(crf_name)
