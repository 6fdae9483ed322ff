"""Follow an entry of the top menu as a person would: open the collapsed menu (narrow screens)
and the group holding the entry (grouped menus, issue 21) when the entry is not in view."""


def follow_menu(page, name: str) -> None:
    nav = page.locator("nav.navbar")
    # By its text, hidden or not: a role locator finds no link inside a closed dropdown (it
    # is not in the accessibility tree until the dropdown opens).
    # (`has` takes a locator queried inside the outer one: made from the page, not from nav.)
    anchor = page.locator(f'a:text-is("{name}")')
    if not nav.locator(f'a:text-is("{name}")').first.is_visible():
        toggler = nav.locator(".navbar-toggler")
        if toggler.is_visible():
            toggler.click()
        group = nav.locator("li.dropdown", has=anchor)
        if group.count():
            group.locator(".dropdown-toggle").click()
    nav.get_by_role("link", name=name, exact=True).click()
    page.wait_for_load_state()
