import logging

from orchestration.local.progress import ComponentProgress


def record(msg, args=(), level=logging.INFO, name="absl", pathname="/elsewhere/tfx/x.py"):
    return logging.LogRecord(name, level, pathname, 1, msg, args, None)


def test_component_lines_show_state_and_cache():
    progress = ComponentProgress()
    running = record("Component %s is running.", ("Trainer",))
    assert progress.filter(running) and running.getMessage() == "Trainer: running ..."
    assert not progress.filter(record("A cached execution %d is used.", (7,)))
    finished = record("Component %s is finished.", ("Trainer",))
    assert progress.filter(finished)
    assert finished.getMessage().startswith("Trainer: cached (")


def test_library_chatter_is_kept_off_the_console():
    progress = ComponentProgress()
    assert not progress.filter(record("Going to run a new execution %d", (3,)))
    assert not progress.filter(record("x is deprecated and will be removed", level=logging.WARNING))
    assert not progress.filter(record("old API", level=logging.WARNING, name="py.warnings"))
    assert progress.filter(record("disk full", level=logging.ERROR))
