"""Run the pipeline on this machine: LocalDagRunner, Beam's in-memory runner, sqlite MLMD.

    python local_runner.py                          # the embedded synthetic dataset
    python local_runner.py --dataset oxford_iiit_pet  # the real one, through TFDS
    python local_runner.py --oxford-dir ~/data/oxford-iiit-pet   # the archives, unpacked
    python local_runner.py --image-dir imgs/ --mask-dir masks/ --mask-values background=0,pet=1
    python local_runner.py --config configs/photos.toml --epochs 5   # a file, and a flag over it
    python local_runner.py --beam-arg=--runner=PortableRunner --beam-arg=--job_endpoint=localhost:8099

Everything goes under --output-dir (default ./outputs): the pipeline root, the ML Metadata
store (metadata.sqlite), the pushed models (serving_model/) and the full log (run.log).
A rerun with nothing changed is served from TFX's cache.

One run at a time per output directory: a run holds <output-dir>/.lock, and a second run
on the same directory is refused at start. A run that was killed can simply be run again:
it resumes from TFX's cache (see docs/reliability.md).
"""

import models  # noqa: F401  # isort: skip - first, for TensorFlow's environment

import argparse

from orchestration.local import run
from pipeline import configs, flags


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--output-dir",
        help="the pipeline root, ML Metadata, the pushed models and run.log "
        f"(default: {configs.DEFAULT_OUTPUT_DIR})",
    )
    flags.add_beam_arg_flag(parser)
    flags.add_flags(parser)
    return parser.parse_args(argv)


def config_from_args(args) -> configs.PipelineConfig:
    config = flags.config_from_args(args, args.output_dir)
    config = flags.with_beam_args(config, args)
    return config


def main(argv=None):
    args = parse_args(argv)
    try:
        config = config_from_args(args)
    except flags.FlagError as error:
        raise SystemExit(f"Configuration error: {error}") from None
    run.run_in_console(config)


if __name__ == "__main__":
    main()
