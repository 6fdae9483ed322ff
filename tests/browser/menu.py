"""Follow an entry of the top menu as a person would: open the collapsed menu (narrow screens)
and the group holding the entry (grouped menus, issue 21) when the entry is not in view."""


def follow_menu(page, name: str) -> None:
    nav = page.locator("nav.navbar")
    link = nav.get_by_role("link", name=name, exact=True)
    if not link.is_visible():
        toggler = nav.locator(".navbar-toggler")
        if toggler.is_visible():
            toggler.click()
        group = nav.locator("li.dropdown", has=link)
        if group.count():
            group.locator(".dropdown-toggle").click()
    link.click()
    page.wait_for_load_state()
