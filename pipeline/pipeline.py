"""create_pipeline(): the one pipeline definition that every runner compiles."""

import dataclasses
import json
import re

import tensorflow_model_analysis as tfma

# tfma only exports some config protos (not PerSliceMetricThreshold) at its top level.
from tensorflow_model_analysis.proto import config_pb2
from tfx import v1 as tfx

from components.data_validation import OXFORD_PETS_SCHEMA, CuratedSchemaGen, ExampleValidator
from components.evaluator import Evaluator
from components.folder_example_gen import FolderExampleGen
from components.latest_pushed_model import LatestPushedModel
from components.pusher import Pusher
from components.segmentation_report import SegmentationReport
from components.tfds_example_gen import TFDSExampleGen
from models import features
from pipeline import component_ids, configs
from pipeline.code_version import code_version
from sources import files

# The Transform's and the Trainer's code, imported by name where they run.
PREPROCESSING_FN = "models.preprocessing.preprocessing_fn"
RUN_FN = "models.trainer.run_fn"


def create_pipeline(
    config: configs.PipelineConfig,
    metadata_connection_config=None,
) -> tfx.dsl.Pipeline:
    training = config.training
    convention = configs.mask_convention(config).to_json_dict()
    # Transform and Trainer import models/ by module name, from the project installed
    # where they run (this checkout, or the image on Kubeflow), not from module files
    # that TFX would package as wheels under the pipeline root at compile time: so a
    # compiling machine needs no write access to the cluster's storage. The hash of
    # that code in their config still makes an edit there re-run them.
    example_gen = example_gen_for(config.data)
    statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
    schema_gen = schema_gen_for(config.data, statistics_gen.outputs["statistics"])
    # Any anomaly fails it, and Transform waits for it: nothing trains on examples that
    # do not match their schema (components/data_validation).
    example_validator = ExampleValidator(
        statistics=statistics_gen.outputs["statistics"],
        schema=schema_gen.outputs["schema"],
    )
    # Transform exports the preprocessing graph; it does not write transformed examples.
    # Written out, 128x128 float images and int64 masks are ~25x the JPEGs' size: on the
    # default data, gzipping them and computing statistics over them took 90% of the
    # Transform's time, and at the real dataset's size the DirectRunner held 11.9 GiB
    # (docs/performance.md). The Trainer applies the same graph to the raw examples once,
    # and keeps the result in memory; the Evaluator and serving apply it too.
    transform = tfx.components.Transform(
        examples=example_gen.outputs["examples"],
        schema=schema_gen.outputs["schema"],
        preprocessing_fn=PREPROCESSING_FN,
        custom_config={
            "image_size": training.image_size,
            "mask_convention": convention,
            "code_version": code_version(PREPROCESSING_FN.rsplit(".", 1)[0]),
        },
        materialize=False,
        # StatisticsGen already describes the raw examples.
        disable_statistics=True,
    )
    transform.add_upstream_node(example_validator)
    trainer = tfx.components.Trainer(
        run_fn=RUN_FN,
        examples=example_gen.outputs["examples"],
        transform_graph=transform.outputs["transform_graph"],
        schema=schema_gen.outputs["schema"],
        train_args=tfx.proto.TrainArgs(num_steps=training.train_steps),
        eval_args=tfx.proto.EvalArgs(num_steps=None),
        custom_config={
            **dataclasses.asdict(training),
            "mask_convention": convention,
            "code_version": code_version(RUN_FN.rsplit(".", 1)[0]),
        },
    )
    # The baseline for "no regression": the newest model that was blessed before.
    baseline = baseline_finder(config, trainer.outputs["model"])
    evaluator = Evaluator(
        examples=example_gen.outputs["examples"],
        model=trainer.outputs["model"],
        baseline_model=baseline.outputs["model"],
        eval_config=eval_config(config),
    )
    # The blessed model, with its model card (components/pusher).
    pusher = Pusher(
        model=trainer.outputs["model"],
        model_blessing=evaluator.outputs["blessing"],
        examples=example_gen.outputs["examples"],
        evaluation=evaluator.outputs["evaluation"],
        push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(base_directory=config.serving_model_dir)
        ),
        model_name=config.pipeline_name,
    )
    # Pictures, charts and the model card of the candidate, blessed or not; after the
    # Pusher, to say what became of it.
    report = SegmentationReport(
        examples=example_gen.outputs["examples"],
        model=trainer.outputs["model"],
        evaluation=evaluator.outputs["evaluation"],
        model_run=trainer.outputs["model_run"],
        blessing=evaluator.outputs["blessing"],
        pushed_model=pusher.outputs["pushed_model"],
        model_name=config.pipeline_name,
    )
    return tfx.dsl.Pipeline(
        pipeline_name=config.pipeline_name,
        pipeline_root=config.pipeline_root,
        components=[
            example_gen,
            statistics_gen,
            schema_gen,
            example_validator,
            transform,
            trainer,
            baseline,
            evaluator,
            pusher,
            report,
        ],
        enable_cache=True,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=list(config.beam_pipeline_args),
    )


def baseline_finder(config: configs.PipelineConfig, candidate_model):
    """The node that hands the Evaluator the last blessed model (configs.BASELINE_SOURCES)."""
    if config.baseline_source == "serving":
        return LatestPushedModel(candidate_model, serving_model_dir=config.serving_model_dir)
    if config.baseline_source != "metadata":
        raise ValueError(
            f"baseline_source {config.baseline_source!r}; use one of {configs.BASELINE_SOURCES}."
        )
    return tfx.dsl.Resolver(
        strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
        model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
        model_blessing=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing),
    ).with_id(component_ids.BASELINE_RESOLVER)


# TFDS datasets whose examples have the Oxford-IIIT Pet features (models/features.py).
OXFORD_TFDS_DATASETS = ("oxford_iiit_pet", "synthetic_pets")


def has_oxford_features(source: configs.DataSource) -> bool:
    """Whether the source writes the Oxford-IIIT Pet features: image and mask, breed label,
    species, file name (components/tfds_example_gen, components/folder_example_gen)."""
    if isinstance(source, configs.OxfordFolderSource):
        return True
    if isinstance(source, configs.TFDSSource):
        # "name", "name/config", "name:4.*.*", "name/config:1.1.0"
        return re.split(r"[/:]", source.dataset, maxsplit=1)[0] in OXFORD_TFDS_DATASETS
    return False


def schema_gen_for(source: configs.DataSource, statistics):
    """The schema the examples are validated against, and parsed with downstream: the
    curated one shipped with the project for sources with the Oxford-IIIT Pet features,
    otherwise one SchemaGen infers from the statistics. The node is "SchemaGen" either way."""
    if has_oxford_features(source):
        schema_gen = CuratedSchemaGen(schema_file=OXFORD_PETS_SCHEMA)
    else:
        schema_gen = tfx.components.SchemaGen(statistics=statistics)
    return schema_gen.with_id(component_ids.SCHEMA_GEN)


def example_gen_for(source: configs.DataSource):
    """The ingestion component for a data source; all of them output the same Examples."""
    if isinstance(source, configs.TFDSSource):
        return TFDSExampleGen(
            dataset=source.dataset,
            data_dir=source.data_dir,
            train_split=source.train_split,
            eval_split=source.eval_split,
            image_key=source.image_key,
            mask_key=source.mask_key,
        )
    common = dict(
        mask_format=configs.mask_format(source).to_json(),
        eval_fraction=source.eval_fraction,
        seed=source.seed,
        max_bad_fraction=source.max_bad_fraction,
    )
    if isinstance(source, configs.OxfordFolderSource):
        return FolderExampleGen(layout="oxford", root=files.absolute(source.root), **common)
    return FolderExampleGen(
        layout="folder",
        image_dir=files.absolute(source.image_dir),
        mask_dir=files.absolute(source.mask_dir),
        **common,
    )


def eval_config(config: configs.PipelineConfig) -> tfma.EvalConfig:
    """Exact metrics over the eval split, overall and per slice; blessing on the whole split."""
    convention = configs.mask_convention(config)
    evaluation = config.evaluation
    threshold = tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(lower_bound={"value": evaluation.blessing_min}),
        change_threshold=tfma.GenericChangeThreshold(
            direction=tfma.MetricDirection.HIGHER_IS_BETTER,
            absolute={"value": -evaluation.blessing_max_regression},
        ),
    )
    return tfma.EvalConfig(
        model_specs=[
            tfma.ModelSpec(
                signature_name="serving_examples",
                preprocessing_function_names=["transform_features"],
                label_keys={features.PROBABILITIES_OUTPUT: features.TRANSFORMED_MASK_KEY},
            )
        ],
        slicing_specs=[tfma.SlicingSpec()]
        + [tfma.SlicingSpec(feature_keys=[key]) for key in configs.slice_features(config)],
        metrics_specs=[
            tfma.MetricsSpec(
                output_names=[features.PROBABILITIES_OUTPUT],
                metrics=[
                    # Examples per slice: how much a slice's score can be trusted.
                    tfma.MetricConfig(class_name="ExampleCount"),
                    tfma.MetricConfig(
                        class_name="SegmentationMetrics",
                        module="evaluation.tfma_metrics",
                        config=json.dumps(
                            {
                                "class_names": list(convention.class_names),
                                "background": convention.background,
                                "threshold_metric": evaluation.blessing_metric,
                                # TFX's cache key for the Evaluator (pipeline/code_version.py).
                                "code_version": code_version(
                                    "evaluation.tfma_metrics", "components.evaluator.executor"
                                ),
                            }
                        ),
                        # The whole split only: a MetricConfig.threshold would apply to
                        # every slice, and a breed with a few images would block blessing.
                        per_slice_thresholds=[
                            config_pb2.PerSliceMetricThreshold(
                                slicing_specs=[tfma.SlicingSpec()], threshold=threshold
                            )
                        ],
                    ),
                ],
            )
        ],
    )
