"""Fixtures shared by every test live in tests/fixtures/ (one module per local service)."""

pytest_plugins = [
    "tests.fixtures.browser",
    "tests.fixtures.firestore",
    "tests.fixtures.stack",
]
