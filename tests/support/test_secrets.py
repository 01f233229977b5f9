"""The "no secret in the logs" check finds a secret wherever a record carries it."""

from __future__ import annotations

import logging

import pytest

from tests.support.secrets import SecretWatch, assert_no_secret_logged

SECRET = "fake-secret-4711"
log = logging.getLogger("dictation_app.test")


@pytest.mark.parametrize("emit", [
    lambda: log.debug("token %s", SECRET),
    lambda: log.debug("request %r", {"headers": {"Authorization": f"Bearer {SECRET}"}}),
    lambda: logging.getLogger("httpx").debug(f"GET /x?token={SECRET}"),
])
def test_a_secret_in_a_message_or_its_arguments_fails(caplog: pytest.LogCaptureFixture,
                                                      emit: object) -> None:
    caplog.set_level(logging.DEBUG)
    emit()  # type: ignore[operator]
    with pytest.raises(AssertionError, match="secrets in the logs"):
        assert_no_secret_logged(caplog, SECRET)


def test_a_secret_in_a_traceback_fails(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    try:
        raise RuntimeError(f"refused {SECRET}")
    except RuntimeError:
        log.exception("it broke")
    with pytest.raises(AssertionError):
        assert_no_secret_logged(caplog, SECRET)


def test_only_limits_the_check_to_one_logger(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("websockets.client").debug(f"> GET /?token={SECRET}")
    log.debug("token=***")
    assert_no_secret_logged(caplog, SECRET, only="dictation_app")
    with pytest.raises(AssertionError):
        assert_no_secret_logged(caplog, SECRET)


def test_the_watch_logs_at_debug_and_checks_what_was_added(
        caplog: pytest.LogCaptureFixture) -> None:
    watch = SecretWatch(caplog)
    log.debug("nothing to hide")
    watch.add(SECRET)
    watch.check()
    log.debug("leaked %s", SECRET)
    with pytest.raises(AssertionError):
        watch.check()
