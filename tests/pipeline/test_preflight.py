import dataclasses

import pytest

from pipeline import configs, preflight
from tests import trap_files


def check(source, **training):
    return preflight.check(
        configs.PipelineConfig(data=source, training=configs.TrainingConfig(**training))
    )


def test_good_sources_pass_with_a_description(tmp_path):
    root = trap_files.generated_oxford_folder(str(tmp_path / "oxford"))
    assert check(configs.OxfordFolderSource(root)) == f"Oxford-IIIT Pet folder {root}: 12 pairs"
    assert check(configs.TFDSSource()) == "TFDS synthetic_pets/default/1.1.0"


def test_a_few_bad_pairs_pass_and_orphans_are_counted(tmp_path):
    root = trap_files.oxford_folder_with_traps(str(tmp_path / "oxford"))
    description = check(configs.OxfordFolderSource(root))
    assert description.endswith("11 pairs, 1 files without a partner (Persian_10.jpg, ...)")


@pytest.mark.parametrize(
    "make_source, message",
    [
        (lambda d: configs.OxfordFolderSource(f"{d}/missing"), "does not exist. Point it at"),
        (
            lambda d: configs.ImageFolderSource(
                f"{d}/oxford/images", f"{d}/empty", "background=0,pet=1"
            ),
            "masks folder .* does not exist",
        ),
        (
            lambda d: configs.ImageFolderSource(
                f"{d}/oxford/images", f"{d}/oxford/annotations/trimaps", "background=0,pet=1"
            ),
            r"16 of 16 sampled pairs .* mask values \[2, 3\] are outside .*--mask-values",
        ),
        (lambda d: configs.TFDSSource(dataset="no_such_dataset"), "TFDS has no dataset"),
        (
            lambda d: configs.TFDSSource(mask_key="trimap"),
            r"no feature 'trimap' for the mask; it has \[.*'segmentation_mask'",
        ),
        (lambda d: configs.TFDSSource(mask_values="pet=1,pet=2"), "unique"),
    ],
)
def test_config_errors_fail_before_the_pipeline_starts(tmp_path, make_source, message):
    trap_files.generated_oxford_folder(str(tmp_path / "oxford"))
    with pytest.raises(preflight.ConfigError, match=message):
        check(make_source(str(tmp_path)))


@pytest.mark.parametrize(
    "training, message",
    [
        ({"class_mode": "tri"}, "Unknown class_mode 'tri'"),
        ({"loss": "hinge"}, r"Unknown loss 'hinge'; use one of \['dice', 'dice_ce', 'focal'\]"),
        ({"backbone": "vgg"}, "Unknown backbone 'vgg'"),
        ({"alpha": 0.6}, "alpha=0.6 for mobilenet_v2"),
        ({"encoder_weights": "/no/such.h5"}, "neither 'imagenet', 'none' nor a weights file"),
        ({"image_size": 0}, r"image_size=0: .* multiple of 32 \(--image-size 128"),
        ({"image_size": -1}, "image_size=-1: .* multiple of 32"),
        ({"image_size": 33}, "image_size=33: .* multiple of 32"),
        ({"epochs": 0}, "epochs=0; it must be 1 or more"),
        ({"batch_size": 0}, "batch_size=0; it must be 1 or more"),
        ({"train_steps": 0}, r"train_steps=0; it must be 1 or more \(or unset"),
        ({"augmentation": "rotate"}, r"Unknown augmentation 'rotate'; use one of \('none'"),
        ({"freeze_encoder_epochs": -1}, "freeze_encoder_epochs=-1; it must be 0 or more"),
        (
            {"freeze_encoder_epochs": 2, "encoder_weights": "none"},
            "freeze_encoder_epochs=2 with encoder_weights='none': a randomly initialised",
        ),
    ],
)
def test_training_config_errors_fail_before_the_pipeline_starts(training, message):
    with pytest.raises(preflight.ConfigError, match=message):
        check(configs.TFDSSource(), **training)


@pytest.mark.parametrize("name", ["", "a/../b", "/abs", ".hidden", "two words"])
def test_a_pipeline_name_that_is_no_directory_name_is_refused(name):
    # An empty one ran the whole pipeline and failed at the end, in ML Metadata.
    with pytest.raises(preflight.ConfigError, match=r"pipeline_name .*\(--pipeline-name\)"):
        preflight.check_settings(configs.PipelineConfig(pipeline_name=name))
    preflight.check_settings(configs.PipelineConfig(pipeline_name="pets_v2.1-test"))


def test_unknown_blessing_metric_is_a_config_error():
    config = configs.PipelineConfig(evaluation=configs.EvaluationConfig(blessing_metric="f1"))
    with pytest.raises(preflight.ConfigError, match=r"'f1' is not a metric .* 'mean_iou'"):
        preflight.check(config)


def test_settings_checks_read_no_data_and_no_files(tmp_path):
    """What a machine that only compiles for a cluster can check: no folder, no TFDS
    builder, no weights file is looked at (they may exist only inside the cluster)."""
    config = configs.PipelineConfig(
        data=configs.OxfordFolderSource(root=str(tmp_path / "only-in-the-pod")),
        training=dataclasses.replace(configs.TrainingConfig(), encoder_weights="/image/weights.h5"),
    )
    preflight.check_settings(config)  # passes: nothing on this machine is read
    with pytest.raises(preflight.ConfigError, match="multiple of 32"):
        preflight.check_settings(
            dataclasses.replace(
                config, training=dataclasses.replace(config.training, image_size=100)
            )
        )


def test_folders_on_a_filesystem_with_a_scheme_are_checked_as_on_disk(tmp_path):
    """ram:// (TensorFlow's in-memory filesystem, this process only) stands for gs://."""
    root = trap_files.oxford_folder_with_traps(str(tmp_path / "oxford"))
    uri = trap_files.copy_to_ram(root)
    described = check(configs.OxfordFolderSource(uri))
    assert described == check(configs.OxfordFolderSource(root)).replace(root, uri)
    assert described == f"Oxford-IIIT Pet folder {uri}: 11 pairs, 1 files without a partner " + (
        "(Persian_10.jpg, ...)"
    )
    images, trimaps = f"{uri}/images", f"{uri}/annotations/trimaps"
    folder = configs.ImageFolderSource(images, trimaps, "pet=1,background=2,border=3")
    assert check(folder).startswith(f"folder {images} + {trimaps}: 11 pairs")
    wrong = dataclasses.replace(folder, mask_values="background=0,pet=1")
    with pytest.raises(preflight.ConfigError, match=r"sampled pairs in folder ram://.*\[2, 3\]"):
        check(wrong)


def test_a_missing_folder_with_a_scheme_fails_as_a_missing_local_one(tmp_path):
    uri = trap_files.copy_to_ram(tmp_path)
    errors = []
    for where in (str(tmp_path), uri):
        for source in (
            configs.OxfordFolderSource(f"{where}/missing"),
            configs.ImageFolderSource(f"{where}/images", f"{where}/masks", "background=0,pet=1"),
        ):
            with pytest.raises(preflight.ConfigError) as error:
                check(source)
            errors.append(str(error.value))
    assert errors[2:] == [error.replace(str(tmp_path), uri) for error in errors[:2]]
    assert "\n" not in "".join(errors)


def test_a_scheme_tensorflow_does_not_have_here_is_a_one_line_config_error():
    with pytest.raises(preflight.ConfigError) as error:
        check(configs.OxfordFolderSource("s3://bucket/pets"))
    assert str(error.value).startswith("Cannot read s3://bucket/pets: TensorFlow has no ")
    assert "tensorflow-io" in str(error.value) and "\n" not in str(error.value)
