"""What the pipeline's runs recorded in ML Metadata: runs, executions, artifacts, models, lineage.

    inspect                       the newest run's executions, and every model's evaluation
    inspect runs                  every run: when, how long, its executions' states
    inspect executions --run ID   one run's executions (default: the newest run)
    inspect artifacts             what the newest run's executions output, with their URIs
    inspect models                each model: metrics, blessing, where it was pushed
    inspect lineage               the newest pushed model, back to the examples it came from
    inspect lineage --downstream  what was made from the newest examples: statistics,
                                  transform graph, models, evaluations, pushes
    inspect lineage --artifact Model   (or --artifact ID): the newest model's lineage
    inspect models --json         any of these as JSON

The store is opened read-only, so this works while a run is writing to it. Nothing here
imports TensorFlow: the Evaluator's metrics are read from its files directly.
"""

import models  # noqa: F401  # isort: skip - first, for TensorFlow's environment

import argparse
import json
import os
import sys

from rich.console import Console

from metadata.inspect.describe import RUN_SECTIONS, SECTIONS, collect
from metadata.inspect.format import format_text, renderables
from metadata.inspect.load import InspectError, load
from pipeline import configs, flags


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="inspect", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("section", nargs="?", choices=SECTIONS, help="default: an overview")
    parser.add_argument(
        "--metadata",
        default=configs.PipelineConfig().metadata_path,
        help="the ML Metadata sqlite file (default: %(default)s)",
    )
    parser.add_argument(
        "--pipeline-name",
        default=configs.PIPELINE_NAME,
        help="the pipeline whose runs to show (default: %(default)s)",
    )
    parser.add_argument("--run", help="a run id from `inspect runs` (default: the newest run)")
    parser.add_argument(
        "--artifact",
        type=artifact_id_or_type,
        metavar="ID|TYPE",
        help="lineage of this artifact, or of the newest of this type, e.g. Examples "
        "(default: the newest pushed model; with --downstream, the newest Examples)",
    )
    parser.add_argument(
        "--downstream",
        action="store_true",
        help="lineage forward: what executions took the artifact and what they made",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    flags.add_version_flag(parser)
    args = parser.parse_args(argv)
    # A flag the section does not read is a mistake to point out, not to ignore.
    if args.run is not None and args.section not in RUN_SECTIONS:
        parser.error(f"--run is for the overview, executions and artifacts, not {args.section}")
    for flag in ("artifact", "downstream"):
        if getattr(args, flag) not in (None, False) and args.section != "lineage":
            parser.error(f"--{flag} is for `inspect lineage`")
    return args


def artifact_id_or_type(text: str) -> int | str:
    """An artifact id (1 or more), or an artifact type's name."""
    if text.lstrip("-").isdigit():
        return flags.at_least(1)(text)
    return text


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        records = load(args.metadata, args.pipeline_name)
        data = collect(records, args.section, args.run, args.artifact, args.downstream)
    except InspectError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    try:
        if args.json:
            print(json.dumps(data, indent=2))
        elif sys.stdout.isatty():  # the terminal's width and colours
            Console(highlight=False).print(renderables(data, args.section))
        else:
            print(format_text(data, args.section))
        sys.stdout.flush()
    except BrokenPipeError:  # `inspect | head`: the reader had what it wanted
        # Python flushes stdout again at exit: point it at nothing, not at the closed pipe.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
