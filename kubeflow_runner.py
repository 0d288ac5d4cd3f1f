"""Compile the pipeline for Kubeflow Pipelines (KFP v2) with KubeflowV2DagRunner.

    python kubeflow_runner.py --output-dir gs://BUCKET/pet-segmentation \
        --image REGISTRY/pet-segmentation:TAG --spec pipeline.json

It compiles the same create_pipeline() that local_runner.py runs into a KFP v2 pipeline
spec (JSON) to upload with the kfp client or the Kubeflow UI. The image must contain this
project and its locked environment: every task runs this project's components, module
files and metrics. --output-dir plays the part it has for local_runner.py (pipeline root
and pushed models below it) but must be storage the cluster reads; compiling builds the
module-file wheels under it, so the machine that compiles must be able to write there.

A --spec ending in .json gets the whole pipeline job, pipeline root included (for Vertex AI
Pipelines and orchestration/kubeflow/local_harness.py); one ending in .yaml gets the bare pipeline spec,
the package format that kfp's Client uploads (give it the pipeline root when you run it).
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import dataclasses  # noqa: E402

from pipeline import configs, flags  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--output-dir", required=True, help="shared storage the cluster reads")
    parser.add_argument("--image", required=True, help="the container image every task runs")
    parser.add_argument(
        "--spec", default="pipeline.json", help="where to write the spec (.json or .yaml)"
    )
    parser.add_argument(
        "--beam-arg",
        action="append",
        default=[],
        help="a Beam pipeline argument for every Beam-powered component (repeatable)",
    )
    # The same data, training and blessing flags as local_runner.py. Paths must be ones
    # the cluster's pods read (gs://...); a small budget makes a smoke run of the compiled
    # spec (orchestration/kubeflow/local_harness.py) take minutes.
    flags.add_flags(parser, default_dataset="oxford_iiit_pet")
    return parser.parse_args(argv)


def compile_pipeline(config: configs.PipelineConfig, image: str, output_path: str) -> str:
    from tfx import v1 as tfx

    from pipeline.pipeline import create_pipeline

    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(default_image=image),
        output_dir=os.path.dirname(os.path.abspath(output_path)),
        output_filename=os.path.basename(output_path),
    )
    # No metadata connection config: on Kubeflow the cluster's ML Metadata is used.
    runner.run(create_pipeline(config))
    return output_path


def main(argv=None):
    args = parse_args(argv)
    try:
        config = flags.config_from_args(args, args.output_dir)
    except flags.FlagError as error:
        raise SystemExit(f"Configuration error: {error}") from None
    if args.beam_arg:
        config = dataclasses.replace(config, beam_pipeline_args=tuple(args.beam_arg))
    print(f"Wrote {compile_pipeline(config, args.image, args.spec)}")


if __name__ == "__main__":
    main()
