"""python -m bench: the end-to-end run first, then the benchmarks that measure its output."""

from bench import __main__ as run_all


def test_the_end_to_end_run_comes_first_and_feeds_the_others():
    commands = run_all.commands(full=False)

    modules = [command[2] for command in commands]
    assert modules == [
        "bench.end_to_end",
        "bench.transform",
        "bench.trainer_input",
        "bench.serving",
    ]
    for command in commands[1:]:
        assert command[command.index("--output-dir") + 1] == run_all.DEFAULT_RUN
    assert run_all.DEFAULT_RUN.endswith("bench/outputs/end_to_end/default")


def test_full_adds_the_full_size_run():
    last = run_all.commands(full=True)[-1]
    assert last[2:5] == ["bench.end_to_end", "--size", "full"]
