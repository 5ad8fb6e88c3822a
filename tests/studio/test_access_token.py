"""A studio on a non-loopback address shows nothing until the browser session gives its access
token, in the link or typed once; on loopback (no token set) it opens as always."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from studio_helpers import APP

from tape_studio.core.store import Store
from tape_studio.core.tape import Tape, TapeMetadata, Task
from tape_studio.studio.access import ACCESS_ENV

TOKEN = "k3Jx-very-long-access-token-9Q"
SECRET_TITLE = "a tape only the token holder may read"


@pytest.fixture
def guarded(studio_store: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    Store(studio_store).save_tape(Tape(metadata=TapeMetadata(title=SECRET_TITLE), steps=(Task(text="q"),)))
    monkeypatch.setenv(ACCESS_ENV, TOKEN)
    return studio_store


def shows_tapes(at: AppTest) -> bool:
    return any(SECRET_TITLE in str(frame.value.to_dict()) for frame in at.dataframe)


def test_without_the_token_nothing_but_the_form_is_shown(guarded: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert at.title[0].value == "Tape Studio" and at.text_input(key="access_token")
    assert not shows_tapes(at) and not at.dataframe


def test_a_wrong_token_is_refused_and_the_right_one_opens_the_studio(guarded: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.text_input(key="access_token").input("guess-guess-guess-guess")
    at.button[0].click().run()
    assert at.error and "not this studio's access token" in at.error[0].value and not shows_tapes(at)
    at.text_input(key="access_token").input(TOKEN)
    at.button[0].click().run()
    assert not at.exception and shows_tapes(at)
    at.run()  # typed once: the session keeps its access
    assert shows_tapes(at)


def test_the_token_in_the_link_opens_the_studio_and_leaves_the_address(guarded: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["token"] = TOKEN
    at.run()
    assert not at.exception and shows_tapes(at) and "token" not in at.query_params
    wrong = AppTest.from_file(APP, default_timeout=30)
    wrong.query_params["token"] = TOKEN[:-1]
    wrong.run()
    assert not shows_tapes(wrong) and "not this studio's access token" in wrong.error[0].value


def test_a_loopback_studio_needs_no_token(studio_store: Path) -> None:
    Store(studio_store).save_tape(Tape(metadata=TapeMetadata(title=SECRET_TITLE), steps=(Task(text="q"),)))
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception and shows_tapes(at)
