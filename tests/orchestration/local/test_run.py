"""How a local run stops on SIGINT and SIGTERM (the whole run: tests/reliability)."""

import signal
import time

import pytest

from orchestration.local import run


def test_a_signal_whose_exception_python_dropped_is_delivered_again():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(run.Interrupted) as interrupted:
        with run.interrupts_stop_the_run():
            handler = signal.getsignal(signal.SIGTERM)
            try:  # as in a weakref callback, where Python prints the exception and goes on
                handler(signal.SIGTERM, None)
            except run.Interrupted:
                pass
            time.sleep(10 * run.REDELIVERY_SECONDS)  # the run going on: it must not
    assert interrupted.value.signal_number == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is before
    time.sleep(2 * run.REDELIVERY_SECONDS)  # nothing more is sent once the run stopped
