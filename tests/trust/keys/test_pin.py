"""The token PIN from the environment, or the development PIN with a warning."""

from __future__ import annotations

from trust.keys import DEV_PIN, DEV_PIN_WARNING, PIN_ENV, pin_from_environment


def test_the_environment_gives_the_pin_and_nothing_is_said() -> None:
    said: list[str] = []
    assert pin_from_environment({PIN_ENV: "s3cret"}, warn=said.append) == "s3cret"
    assert said == []


def test_without_it_the_development_pin_comes_with_a_warning() -> None:
    said: list[str] = []
    for environ in ({}, {PIN_ENV: ""}):
        assert pin_from_environment(environ, warn=said.append) == DEV_PIN
    assert said == [DEV_PIN_WARNING, DEV_PIN_WARNING]
    assert PIN_ENV in DEV_PIN_WARNING and "never in production" in DEV_PIN_WARNING
