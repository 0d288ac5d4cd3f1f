import dataclasses
import json
import os
import shutil

import pytest
import tensorflow_model_analysis as tfma

from pipeline import code_version, component_ids, configs
from pipeline.pipeline import create_pipeline, eval_config


def test_components_are_all_there_and_wired(component_ids):
    pipeline = create_pipeline(configs.PipelineConfig(output_dir="/tmp/unused"))
    assert {component.id for component in pipeline.components} == component_ids
    by_id = {component.id: component for component in pipeline.components}
    assert by_id["Transform"].inputs["examples"].producer_component_id == "TFDSExampleGen"
    assert by_id["Transform"].inputs["schema"].producer_component_id == "SchemaGen"
    # Transform writes no examples: the Trainer applies its graph to the raw ones.
    assert by_id["Trainer"].inputs["examples"].producer_component_id == "TFDSExampleGen"
    assert by_id["Trainer"].inputs["transform_graph"].producer_component_id == "Transform"
    assert "transformed_examples" not in by_id["Transform"].outputs
    assert by_id["Evaluator"].inputs["baseline_model"].producer_component_id == (
        "latest_blessed_model_resolver"
    )
    assert by_id["Pusher"].inputs["model_blessing"].producer_component_id == "Evaluator"
    # The Pusher pushes the model card, made of the data's and the evaluation's records.
    assert by_id["Pusher"].inputs["examples"].producer_component_id == "TFDSExampleGen"
    assert by_id["Pusher"].inputs["evaluation"].producer_component_id == "Evaluator"
    # The report says what became of the model: it runs after the Pusher.
    assert by_id["SegmentationReport"].inputs["pushed_model"].producer_component_id == "Pusher"
    assert pipeline.pipeline_info.pipeline_root == "/tmp/unused/pipeline_root/pet-segmentation"


def test_config_reaches_components():
    config = configs.PipelineConfig(
        data=configs.DATASETS["oxford_iiit_pet"],
        training=dataclasses.replace(configs.TrainingConfig(), image_size=96, epochs=3),
    )
    by_id = {c.id: c for c in create_pipeline(config).components}
    assert by_id["TFDSExampleGen"].exec_properties["dataset"] == "oxford_iiit_pet:4.*.*"
    assert by_id["TFDSExampleGen"].exec_properties["eval_split"] == "train[90%:]"
    assert '"image_size": 96' in by_id["Transform"].exec_properties["custom_config"]
    assert '"epochs": 3' in by_id["Trainer"].exec_properties["custom_config"]


def test_blessing_thresholds_come_from_config():
    config = configs.PipelineConfig(
        evaluation=configs.EvaluationConfig(
            blessing_metric="mean_iou", blessing_min=0.7, blessing_max_regression=0.02
        ),
        training=dataclasses.replace(configs.TrainingConfig(), class_mode="binary_border_as_pet"),
    )
    evaluation = eval_config(config)
    (metrics_spec,) = evaluation.metrics_specs
    example_count, metric = metrics_spec.metrics
    assert example_count.class_name == "ExampleCount"
    assert metric.module == "evaluation.tfma_metrics"
    assert json.loads(metric.config) == {
        "class_names": ["background", "pet"],
        "background": "background",
        "threshold_metric": "mean_iou",
        "code_version": code_version.code_version(
            "evaluation.tfma_metrics", "components.evaluator.executor"
        ),
    }
    assert not metric.HasField("threshold")  # it would apply to every slice
    (overall,) = metric.per_slice_thresholds
    assert list(overall.slicing_specs) == [tfma.SlicingSpec()]
    assert overall.threshold.value_threshold.lower_bound.value == 0.7
    assert overall.threshold.change_threshold.absolute.value == -0.02
    # Oxford-shaped data is also sliced by species and breed.
    assert [list(s.feature_keys) for s in evaluation.slicing_specs] == [[], ["species"], ["label"]]


def test_folder_sources_get_the_folder_example_gen(tmp_path):
    oxford = configs.PipelineConfig(data=configs.OxfordFolderSource(root=str(tmp_path)))
    by_id = {c.id: c for c in create_pipeline(oxford).components}
    example_gen = by_id["FolderExampleGen"]
    assert example_gen.exec_properties["layout"] == "oxford"
    assert example_gen.exec_properties["root"] == str(tmp_path)
    assert by_id["Transform"].inputs["examples"].producer_component_id == "FolderExampleGen"
    assert set(example_gen.outputs) == {"examples", "report"}

    folder = configs.PipelineConfig(
        data=configs.ImageFolderSource(
            image_dir="imgs", mask_dir="masks", mask_values="background=0,road=1+2"
        )
    )
    by_id = {c.id: c for c in create_pipeline(folder).components}
    assert by_id["FolderExampleGen"].exec_properties["image_dir"] == os.path.abspath("imgs")
    # The declared classes reach the Transform, the Trainer and the Evaluator's metric.
    expected = '"class_names": ["background", "road"], "class_values": [[0], [1, 2]]'
    assert expected in by_id["Transform"].exec_properties["custom_config"]
    assert expected in by_id["Trainer"].exec_properties["custom_config"]
    folder_eval = eval_config(folder)
    assert '"class_names": ["background", "road"]' in folder_eval.metrics_specs[0].metrics[1].config
    assert len(folder_eval.slicing_specs) == 1  # a plain folder has no species or breed


def test_folders_on_cloud_storage_reach_the_example_gen_as_given():
    """A URI is not a local path to make absolute (gs://b would become ./gs:/b)."""
    for source, properties in (
        (configs.OxfordFolderSource(root="gs://bucket/pets"), {"root": "gs://bucket/pets"}),
        (
            configs.ImageFolderSource("s3://b/images", "ram://masks", "background=0,pet=1"),
            {"image_dir": "s3://b/images", "mask_dir": "ram://masks"},
        ),
    ):
        config = configs.PipelineConfig(data=source)
        by_id = {c.id: c for c in create_pipeline(config).components}
        exec_properties = by_id["FolderExampleGen"].exec_properties
        assert {key: exec_properties[key] for key in properties} == properties


def test_class_mode_applies_to_trimaps_only():
    config = configs.PipelineConfig(
        data=configs.ImageFolderSource("i", "m", mask_values="background=0,road=1"),
        training=dataclasses.replace(configs.TrainingConfig(), class_mode="binary_border_as_pet"),
    )
    with pytest.raises(ValueError, match="merges Oxford trimap classes"):
        configs.mask_convention(config)


def code_versions_of_each_component() -> dict[str, str]:
    """{component id: the code version among its exec properties}, where it has one."""
    pipeline = create_pipeline(configs.PipelineConfig(output_dir="/tmp/unused"))
    versions = {}
    for component in pipeline.components:
        properties = component.exec_properties
        if "code_version" in properties:
            versions[component.id] = properties["code_version"]
        elif component.id in ("Transform", "Trainer"):
            versions[component.id] = json.loads(properties["custom_config"])["code_version"]
        elif "eval_config" in properties:  # the Evaluator: in its metric's config
            eval_config = json.loads(properties["eval_config"])
            metric = eval_config["metrics_specs"][0]["metrics"][1]
            versions[component.id] = json.loads(metric["config"])["code_version"]
    return versions


@pytest.mark.parametrize(
    "edited, rerun",
    [
        ("models/unet.py", {"Trainer"}),  # the Transform does not run it
        ("models/preprocessing.py", {"Transform", "Trainer"}),
        (
            "models/features.py",
            {
                "TFDSExampleGen",
                "SchemaGen",
                "ExampleValidator",
                "Transform",
                "Trainer",
                "SegmentationReport",
                "Pusher",
            },
        ),
        ("evaluation/tfma_metrics.py", {"Evaluator", "SegmentationReport", "Pusher"}),
        ("evaluation/visualize.py", {"SegmentationReport"}),
        ("evaluation/templates.py", {"SegmentationReport", "Pusher"}),  # report, model card
        ("components/evaluator/executor.py", {"Evaluator"}),
        ("sources/synthetic_pets.py", {"TFDSExampleGen"}),
        ("bench/common.py", set()),
    ],
)
def test_an_edit_reruns_the_components_whose_code_it_is(tmp_path, monkeypatch, edited, rerun):
    # TFX reuses an execution whose inputs and exec properties are unchanged: the hash of
    # the code each component runs must be among them, and only that code.
    for package in (*code_version.PROJECT_PACKAGES, "bench"):
        shutil.copytree(
            os.path.join(configs.PROJECT_DIR, package),
            tmp_path / package,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    monkeypatch.setattr(configs, "PROJECT_DIR", str(tmp_path))
    before = code_versions_of_each_component()
    assert set(before) == {
        "TFDSExampleGen",
        "SchemaGen",
        "ExampleValidator",
        "Transform",
        "Trainer",
        "Evaluator",
        "SegmentationReport",
        "Pusher",
    }
    assert code_versions_of_each_component() == before  # the same code: the cache holds

    with open(tmp_path / edited, "a") as file:
        file.write("\n# an edit\n")
    after = code_versions_of_each_component()
    assert {name for name in before if after[name] != before[name]} == rerun


def test_the_baseline_comes_from_the_serving_dir_where_no_resolver_runs(component_ids):
    config = configs.PipelineConfig(output_dir="/mnt/shared", baseline_source="serving")
    by_id = {c.id: c for c in create_pipeline(config).components}
    resolver = "latest_blessed_model_resolver"
    assert set(by_id) == (component_ids - {resolver}) | {"LatestPushedModel"}
    finder = by_id["LatestPushedModel"]
    assert finder.exec_properties["serving_model_dir"] == config.serving_model_dir
    # After the Trainer: a new candidate is a new input, never a cached search.
    assert finder.inputs["candidate_model"].producer_component_id == "Trainer"
    assert by_id["Evaluator"].inputs["baseline_model"].producer_component_id == (
        "LatestPushedModel"
    )
    with pytest.raises(ValueError, match="baseline_source 'mlmd'; use one of"):
        create_pipeline(dataclasses.replace(config, baseline_source="mlmd"))


@pytest.mark.parametrize(
    "config",
    [
        configs.PipelineConfig(output_dir="/tmp/unused"),
        configs.PipelineConfig(
            output_dir="/tmp/unused",
            data=configs.OxfordFolderSource(root="/pets"),
            baseline_source="serving",
        ),
    ],
)
def test_the_components_have_the_ids_readers_look_for(config):
    # metadata/, bench/ and the Kubeflow compiler find components by these names.
    ids = {value for name, value in vars(component_ids).items() if name.isupper()}
    assert {component.id for component in create_pipeline(config).components} <= ids
