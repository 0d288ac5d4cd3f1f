"""Compile the pipeline for Kubeflow Pipelines: open-source KFP 2.x first, Vertex AI second.

    python kubeflow_runner.py --image REGISTRY/pet-segmentation:TAG \
        --output-dir gs://BUCKET/pet-segmentation              # -> pipeline.yaml
    python kubeflow_runner.py --target vertex --image ... --output-dir gs://...  # .json
    python kubeflow_runner.py --config configs/photos.toml --image ... --output-dir gs://...

It compiles the same create_pipeline() that local_runner.py runs
(orchestration/kubeflow/compiler.py says what differs per target). `--target kubeflow`
(the default) writes a bare PipelineSpec YAML, schema 2.1.0, to upload with kfp's Client
or the Kubeflow UI; `--target vertex` writes the PipelineJob JSON that Vertex AI
Pipelines runs. The image must contain this project and its locked environment (the
Dockerfile): every task runs this project's components, module code and metrics.
--output-dir plays the part it has for local_runner.py (pushed models below it) and must
be storage every pod reads and writes with TensorFlow: gs://..., or a volume mounted at
the same path in every pod. The settings are checked before anything is compiled.
"""

import models  # noqa: F401  # isort: skip - first, for TensorFlow's environment

import argparse

from orchestration.kubeflow import compiler
from pipeline import flags, preflight


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--target",
        choices=compiler.TARGETS,
        default="kubeflow",
        help="kubeflow: open-source Kubeflow Pipelines 2.x; vertex: Vertex AI "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--output-dir",
        help="storage every pod reads and writes (default: none; required here or as "
        "output_dir in the --config file)",
    )
    parser.add_argument("--image", required=True, help="the container image every task runs")
    parser.add_argument(
        "--spec", help="where to write the spec (default: pipeline.yaml; for vertex, .json)"
    )
    flags.add_beam_arg_flag(parser)
    resources = parser.add_argument_group("resources (default: the cluster's)")
    resources.add_argument(
        "--cpu", help="CPUs for every task, e.g. 2 or 500m (default: the cluster's)"
    )
    resources.add_argument(
        "--memory", help="memory for every task, e.g. 8Gi (default: the cluster's)"
    )
    resources.add_argument(
        "--gpus",
        type=flags.at_least(0),
        default=0,
        help="GPUs for the Trainer (default: %(default)s)",
    )
    resources.add_argument(
        "--gpu-type",
        help=f"kubeflow: the GPU resource name (default: {compiler.DEFAULT_GPU_RESOURCE}); "
        "vertex: the accelerator type, e.g. NVIDIA_TESLA_T4 (required with --gpus)",
    )
    resources.add_argument(
        "--pvc",
        action="append",
        default=[],
        metavar="NAME:PATH",
        help="kubeflow: mount this PersistentVolumeClaim at PATH in every task, repeatable "
        "(default: none)",
    )
    # The same data, training and blessing flags as local_runner.py. Paths must be ones
    # the cluster's pods read (gs://...); a small budget makes a smoke run of the compiled
    # spec (orchestration/kubeflow/local_harness.py) take minutes.
    flags.add_flags(parser, default_dataset="oxford_iiit_pet")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    spec_path = args.spec or compiler.DEFAULT_SPECS[args.target]
    resources = compiler.Resources(
        args.cpu, args.memory, args.gpus, args.gpu_type, volumes=tuple(args.pvc)
    )
    try:
        config = flags.config_from_args(args, args.output_dir, default_output_dir=None)
        config = flags.with_beam_args(config, args)
        # What needs no data: the data may be readable only from the cluster.
        preflight.check_settings(config)
        compiler.check(config, args.target, spec_path, resources)
    except (flags.FlagError, preflight.ConfigError, compiler.CompileError) as error:
        raise SystemExit(f"Configuration error: {error}") from None
    compiler.compile_pipeline(config, args.image, spec_path, args.target, resources)
    print(f"Wrote {spec_path} ({args.target}).")
    folders = [
        getattr(config.data, name)
        for name in ("root", "image_dir", "mask_dir")
        if getattr(config.data, name, None)
    ]
    if folders:
        # This machine may have no access to where the pods read (their service account's
        # gs://, a volume), and access from here would not prove theirs.
        print(
            f"Not checked here: {' and '.join(folders)}, which the pods read with their own "
            "credentials; the FolderExampleGen task fails at once if they cannot."
        )


if __name__ == "__main__":
    main()
