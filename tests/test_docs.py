"""The docs stay true: generated parts match the code, and the README keeps its promises."""

from pathlib import Path

from trialedc.management.commands.data_dictionary import data_dictionary

ROOT = Path(__file__).resolve().parent.parent


def test_the_data_dictionary_matches_the_models():
    current = (ROOT / "docs" / "data-dictionary.md").read_text()
    assert current == data_dictionary(), (
        "docs/data-dictionary.md is stale: "
        "run `python manage.py data_dictionary > docs/data-dictionary.md`"
    )


def test_the_readme_opens_with_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    first_block = readme.split("```")[1]
    assert [line.strip() for line in first_block.strip().splitlines()[1:]] == [
        "make run",
        "make test",
    ]


def test_every_demo_login_is_in_the_readme():
    from trialedc.management.commands.load_demo import DEMO_USERS

    readme = (ROOT / "README.md").read_text()
    for username, *_ in DEMO_USERS:
        assert f"`{username}`" in readme
