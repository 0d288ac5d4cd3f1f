"""create_pipeline(): the one pipeline definition that every runner compiles."""

import dataclasses
import json
import os

import tensorflow_model_analysis as tfma
from tfx import v1 as tfx

from components.tfds_example_gen import TFDSExampleGen
from models import features
from pipeline import configs


def create_pipeline(
    config: configs.PipelineConfig,
    metadata_connection_config=None,
) -> tfx.dsl.Pipeline:
    data = config.data
    training = config.training
    example_gen = TFDSExampleGen(
        dataset=data.dataset,
        data_dir=data.data_dir,
        train_split=data.train_split,
        eval_split=data.eval_split,
        image_key=data.image_key,
        mask_key=data.mask_key,
    )
    statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
    schema_gen = tfx.components.SchemaGen(statistics=statistics_gen.outputs["statistics"])
    example_validator = tfx.components.ExampleValidator(
        statistics=statistics_gen.outputs["statistics"],
        schema=schema_gen.outputs["schema"],
    )
    transform = tfx.components.Transform(
        examples=example_gen.outputs["examples"],
        schema=schema_gen.outputs["schema"],
        module_file=os.path.join(configs.MODULES_DIR, "preprocessing.py"),
        custom_config={"image_size": training.image_size, "class_mode": training.class_mode},
    )
    trainer = tfx.components.Trainer(
        module_file=os.path.join(configs.MODULES_DIR, "trainer.py"),
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        schema=schema_gen.outputs["schema"],
        train_args=tfx.proto.TrainArgs(num_steps=training.train_steps),
        eval_args=tfx.proto.EvalArgs(num_steps=None),
        custom_config=dataclasses.asdict(training),
    )
    # The baseline for "no regression": the newest model that was blessed before.
    model_resolver = tfx.dsl.Resolver(
        strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
        model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
        model_blessing=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing),
    ).with_id("latest_blessed_model_resolver")
    evaluator = tfx.components.Evaluator(
        examples=example_gen.outputs["examples"],
        model=trainer.outputs["model"],
        baseline_model=model_resolver.outputs["model"],
        eval_config=eval_config(config),
    )
    pusher = tfx.components.Pusher(
        model=trainer.outputs["model"],
        model_blessing=evaluator.outputs["blessing"],
        push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(base_directory=config.serving_model_dir)
        ),
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
            model_resolver,
            evaluator,
            pusher,
        ],
        enable_cache=True,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=list(config.beam_pipeline_args),
    )


def eval_config(config: configs.PipelineConfig) -> tfma.EvalConfig:
    """Exact Dice over the eval split; blessing on mean Dice, absolute and vs. baseline."""
    class_names = features.class_names(config.training.class_mode)
    thresholds = config.evaluation
    return tfma.EvalConfig(
        model_specs=[
            tfma.ModelSpec(
                signature_name="serving_examples",
                preprocessing_function_names=["transform_features"],
                label_keys={features.PROBABILITIES_OUTPUT: features.TRANSFORMED_MASK_KEY},
            )
        ],
        slicing_specs=[tfma.SlicingSpec()],
        metrics_specs=[
            tfma.MetricsSpec(
                output_names=[features.PROBABILITIES_OUTPUT],
                metrics=[
                    tfma.MetricConfig(
                        class_name="DiceCoefficient",
                        module="evaluation.dice",
                        config=json.dumps({"class_names": list(class_names)}),
                        threshold=tfma.MetricThreshold(
                            value_threshold=tfma.GenericValueThreshold(
                                lower_bound={"value": thresholds.min_mean_dice}
                            ),
                            change_threshold=tfma.GenericChangeThreshold(
                                direction=tfma.MetricDirection.HIGHER_IS_BETTER,
                                absolute={"value": -thresholds.max_mean_dice_regression},
                            ),
                        ),
                    )
                ],
            )
        ],
    )
