"""How a local run stops on SIGINT and SIGTERM (the whole run: tests/reliability)."""

import signal
import time

import pytest

from orchestration.local import run


def test_a_signal_whose_exception_python_dropped_is_delivered_again(capfd):
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(run.Interrupted) as interrupted:
        with run.interrupts_stop_the_run():
            handler = signal.getsignal(signal.SIGTERM)

            class Finalized:
                def __del__(self):  # as a weakref callback: Python drops what it raises
                    handler(signal.SIGTERM, None)

            Finalized()
            time.sleep(10 * run.REDELIVERY_SECONDS)  # the run going on: it must not
    assert interrupted.value.signal_number == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is before
    time.sleep(2 * run.REDELIVERY_SECONDS)  # nothing more is sent once the run stopped
    assert "Traceback" not in capfd.readouterr().err  # the dropped one is not printed
