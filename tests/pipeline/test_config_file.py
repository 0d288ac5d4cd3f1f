"""The runners' --config FILE (pipeline/config_file.py, pipeline/flags.py): TOML or YAML,
PipelineConfig's fields nested as its dataclasses are, [data] in the data flags' names.
Precedence, lowest first: defaults, recipe, file, flags given on the command line."""

import dataclasses
import os
import re
import textwrap
import tomllib

import pytest
import yaml

import kubeflow_runner
import local_runner
from pipeline import config_file, configs

EXAMPLE = os.path.join(configs.PROJECT_DIR, "configs", "photos.toml")


def config_of(*argv):
    return local_runner.config_from_args(local_runner.parse_args(list(argv)))


def write(tmp_path, text, name="settings.toml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_the_example_file_and_a_flag_over_it():
    config = config_of("--config", EXAMPLE, "--epochs", "5")
    photos = configs.RECIPES["photos"]
    assert config == configs.PipelineConfig(
        pipeline_name="pets-photos",
        output_dir=os.path.abspath("outputs/photos"),  # relative to where the runner starts
        data=configs.OxfordFolderSource(
            root=os.path.expanduser("~/data/oxford-iiit-pet"), eval_fraction=0.1, seed=0
        ),
        training=dataclasses.replace(photos, epochs=5),  # the flag over the recipe's 40
        evaluation=configs.EvaluationConfig(blessing_metric="mean_dice", blessing_min=0.5),
    )


def test_the_examples_commented_out_settings_are_valid_too(tmp_path):
    """Every `# key = value` line of the example, uncommented, still loads: the example
    lists settings that exist, with values of the right type."""
    with open(EXAMPLE) as file:
        text = file.read()
    uncommented = re.sub(r"(?m)^# (\w+ = )", r"\1", text)
    assert uncommented.count("\n") == text.count("\n") and uncommented != text
    settings = config_file.load(write(tmp_path, uncommented))
    assert settings["training"]["decoder_filters"] == (128, 64, 48, 16)
    assert settings[""]["baseline_source"] == "metadata"
    assert settings["evaluation"]["slice_by"] == ("species", "label")


def test_yaml_and_toml_files_mean_the_same(tmp_path):
    with open(EXAMPLE, "rb") as file:
        document = tomllib.load(file)
    as_yaml = write(tmp_path, yaml.safe_dump(document), "photos.yaml")
    assert config_of("--config", as_yaml) == config_of("--config", EXAMPLE)
    # As a person writes each: YAML's null is TOML's key left out, for a setting that may
    # be unset.
    written_yaml = """
        pipeline_name: pets-yaml
        data:
          image_dir: photos
          mask_dir: masks
          mask_values: background=0,pet=1
        training:
          epochs: 3
          learning_rate: 1.0e-3
          test_time_flip: true
          train_steps: null
        evaluation:
          slice_by: []
    """
    written_toml = """
        pipeline_name = "pets-yaml"
        [data]
        image_dir = "photos"
        mask_dir = "masks"
        mask_values = "background=0,pet=1"
        [training]
        epochs = 3
        learning_rate = 1e-3
        test_time_flip = true
        [evaluation]
        slice_by = []
    """
    from_yaml = config_of("--config", write(tmp_path, textwrap.dedent(written_yaml), "b.yml"))
    from_toml = config_of("--config", write(tmp_path, textwrap.dedent(written_toml), "b.toml"))
    assert from_yaml == from_toml
    assert (from_toml.training.learning_rate, from_toml.evaluation.slice_by) == (0.001, ())


def test_every_section_reaches_its_dataclass(tmp_path):
    """A value other than the default for every key of every section."""
    path = write(
        tmp_path,
        """
pipeline_name = "everything"
output_dir = "/tmp/everything"
baseline_source = "serving"
beam_pipeline_args = ["--runner=DirectRunner"]

[data]
image_dir = "/photos"
mask_dir = "/masks"
mask_palette = "background=#000000,pet=#ff0000"
eval_fraction = 0.25
seed = 7
max_bad_fraction = 0.2
background = "pet"

[training]
recipe = "photos"
image_size = 160
class_mode = "binary_border_as_pet"
epochs = 2
batch_size = 3
train_steps = 9
learning_rate = 0.01
loss = "focal"
augmentation = "none"
backbone = "efficientnet_b0"
alpha = 0.75
encoder_weights = "none"
freeze_encoder_epochs = 1
decoder_filters = [64, 32, 16, 8]
batchnorm_momentum = 0.99
test_time_flip = false
seed = 5

[evaluation]
blessing_metric = "foreground_dice"
blessing_min = 0.7
blessing_max_regression = 0.05
slice_by = ["species"]
""",
    )
    expected = configs.PipelineConfig(
        pipeline_name="everything",
        output_dir="/tmp/everything",
        baseline_source="serving",
        beam_pipeline_args=("--runner=DirectRunner",),
        data=configs.ImageFolderSource(
            image_dir="/photos",
            mask_dir="/masks",
            mask_palette="background=#000000,pet=#ff0000",
            eval_fraction=0.25,
            seed=7,
            max_bad_fraction=0.2,
            background="pet",
        ),
        training=configs.TrainingConfig(
            image_size=160,
            class_mode="binary_border_as_pet",
            epochs=2,
            batch_size=3,
            train_steps=9,
            learning_rate=0.01,
            loss="focal",
            augmentation="none",
            backbone="efficientnet_b0",
            alpha=0.75,
            encoder_weights="none",
            freeze_encoder_epochs=1,
            decoder_filters=(64, 32, 16, 8),
            batchnorm_momentum=0.99,
            test_time_flip=False,
            seed=5,
        ),
        evaluation=configs.EvaluationConfig(
            blessing_metric="foreground_dice",
            blessing_min=0.7,
            blessing_max_regression=0.05,
            slice_by=("species",),
        ),
    )
    assert config_of("--config", path) == expected
    # Every field of every section was set, to something else than its default (or recipe).
    for section, default in [
        ("", configs.PipelineConfig()),
        ("training", configs.RECIPES["photos"]),  # the file's recipe
        ("evaluation", configs.EvaluationConfig()),
    ]:
        for field in dataclasses.fields(default):
            if field.name not in config_file.SECTIONS:
                assert field.name in config_file.load(path)[section], (section, field.name)
                actual = getattr(
                    expected if not section else getattr(expected, section), field.name
                )
                assert actual != getattr(default, field.name), (section, field.name)


@pytest.mark.parametrize(
    "flags_given, data",
    [
        ([], {}),
        (["--dataset", "oxford_iiit_pet", "--data-dir", "/d"], {"dataset": "oxford_iiit_pet", "data_dir": "/d"}),
        (
            ["--dataset", "voc/2012", "--train-split", "train[:10]", "--eval-split", "val",
             "--image-key", "i", "--mask-key", "m", "--mask-values", "a=0,b=1"],
            {"dataset": "voc/2012", "train_split": "train[:10]", "eval_split": "val",
             "image_key": "i", "mask_key": "m", "mask_values": "a=0,b=1"},
        ),
        (["--oxford-dir", "pets", "--eval-fraction", "0.2"], {"oxford_dir": "pets", "eval_fraction": 0.2}),
        (
            ["--image-dir", "i", "--mask-dir", "m", "--mask-palette", "a=#000000"],
            {"image_dir": "i", "mask_dir": "m", "mask_palette": "a=#000000"},
        ),
    ],
)  # fmt: skip
def test_data_keys_are_the_data_flags(tmp_path, flags_given, data):
    """The same names make the same source, relative paths made absolute alike."""
    lines = "".join(f"{key} = {value!r}\n".replace("'", '"') for key, value in data.items())
    path = write(tmp_path, "[data]\n" + lines)
    assert config_of("--config", path).data == config_of(*flags_given).data


def test_precedence_defaults_recipe_file_flags(tmp_path):
    path = write(
        tmp_path,
        'pipeline_name = "from-file"\noutput_dir = "file-out"\n'
        '[training]\nrecipe = "photos"\nepochs = 60\n'
        "[evaluation]\nblessing_min = 0.7\n",
    )
    photos, default = configs.RECIPES["photos"], configs.RECIPES["default"]
    config = config_of("--config", path)
    assert config.training == dataclasses.replace(photos, epochs=60)  # file over recipe
    assert config.training.learning_rate == default.learning_rate  # neither: the default
    assert (config.pipeline_name, config.output_dir) == ("from-file", os.path.abspath("file-out"))
    assert config.evaluation.blessing_min == 0.7
    config = config_of(
        "--config", path, "--epochs", "3", "--pipeline-name", "flag", "--output-dir", "flag-out"
    )
    assert config.training == dataclasses.replace(photos, epochs=3)  # flag over file
    assert (config.pipeline_name, config.output_dir) == ("flag", os.path.abspath("flag-out"))
    # A flag given with its default's value still wins over the file.
    assert config_of("--config", path, "--blessing-min", "0.5").evaluation.blessing_min == 0.5
    # --recipe on the command line replaces the file's recipe; the file's epochs stay.
    assert config_of("--config", path, "--recipe", "default").training == dataclasses.replace(
        default, epochs=60
    )


def test_a_source_flag_replaces_the_files_data_other_data_flags_amend_it(tmp_path):
    path = write(tmp_path, '[data]\noxford_dir = "/pets"\neval_fraction = 0.2\nseed = 4\n')
    assert config_of("--config", path, "--eval-fraction", "0.3").data == (
        configs.OxfordFolderSource(root="/pets", eval_fraction=0.3, seed=4)
    )
    assert (
        config_of("--config", path, "--dataset", "synthetic_pets_tiny").data
        == (configs.DATASETS["synthetic_pets_tiny"])
    )


def test_kubeflow_runner_takes_the_file_and_needs_an_output_dir_from_somewhere(tmp_path):
    path = write(tmp_path, 'output_dir = "gs://bucket/pets"\n[training]\nepochs = 2\n')
    args = kubeflow_runner.parse_args(["--config", path, "--image", "i"])
    config = kubeflow_runner.flags.config_from_args(args, args.output_dir, default_output_dir=None)
    assert (config.output_dir, config.training.epochs) == ("gs://bucket/pets", 2)
    assert config.data == configs.DATASETS["oxford_iiit_pet"]  # this runner's default
    with pytest.raises(
        SystemExit, match="Configuration error: Pass --output-dir, or set output_dir"
    ):
        kubeflow_runner.main(["--image", "i", "--spec", str(tmp_path / "spec.yaml")])
    assert not (tmp_path / "spec.yaml").exists()


@pytest.mark.parametrize(
    "name, text, message",
    [
        (
            "a.toml",
            "[training]\nepoch = 4\n",
            r"a.toml: unknown key 'epoch' in \[training\]; did you mean 'epochs'\? \[training\] "
            r"takes: recipe, image_size, .*, seed\.$",
        ),
        ("b.toml", "[training]\nbatch-size = 4\n", "did you mean 'batch_size'"),
        (
            "c.toml",
            "epochs = 4\n",
            r"unknown key 'epochs' at the top level; it goes in the \[training\] section\. "
            r"The top level takes: pipeline_name, output_dir, baseline_source, "
            r"beam_pipeline_args, and the sections \[data\], \[training\], \[evaluation\]\.$",
        ),
        ("d.toml", "[data]\nroot = '/x'\n", r"unknown key 'root' in \[data\].* oxford_dir"),
        (
            "e.toml",
            '[training]\nepochs = "4"\n',
            r"epochs = '4' in \[training\] is a string; it must be a whole number \(a number "
            r"is written without quotes: epochs = 4\)",
        ),
        ("f.toml", "[training]\nepochs = true\n", "epochs = True in .* is true or false; it must"),
        ("g.toml", "[evaluation]\nslice_by = 'species'\n", "it must be a list of strings"),
        ("h.yaml", "training:\n  learning_rate: 1e-3\n", r"YAML reads 1e-3 as a string"),
        ("i.toml", "[training\n", r"i.toml is not valid TOML: .*line 1"),
        ("j.yaml", "training: [\n", r"j.yaml is not valid YAML: .*\(line 2, column 1\)"),
        ("k.yaml", "- epochs\n", "holds settings as `key = value` .* not a list"),
        ("l.toml", "training = 3\n", r"training is a section of settings \(\[training\] then"),
        ("m.toml", '[training]\nrecipe = "fast"\n', "recipe = 'fast' in .*; use one of default, photos"),
        ("n.toml", '[data]\nseed = 3\n', r"seed in \[data\] is for oxford_dir or image_dir sources"),
        ("o.toml", '[data]\nimage_dir = "/x"\n', r"o.toml \[data\]: --image-dir and --mask-dir go"),
        ("p.ini", "epochs = 4\n", r"p.ini: a config file is TOML \(.toml\) or YAML"),
        ("q.toml", 'baseline_source = "mlmd"\n', "use one of metadata, serving"),
    ],
)  # fmt: skip
def test_a_bad_file_is_one_line_naming_the_file_the_key_and_the_fix(tmp_path, name, text, message):
    path = write(tmp_path, text, name)
    with pytest.raises(SystemExit) as error:
        local_runner.main(["--config", path, "--output-dir", str(tmp_path / "outputs")])
    line = str(error.value)
    assert line.startswith(f"Configuration error: {path}") and "\n" not in line
    assert re.search(message, line), line
    assert not (tmp_path / "outputs").exists()


def test_a_missing_file_says_so(tmp_path):
    missing = str(tmp_path / "none.toml")
    with pytest.raises(SystemExit) as error:
        local_runner.main(["--config", missing])
    assert str(error.value) == (
        f"Configuration error: Cannot read the config file {missing}: No such file or "
        "directory. Check the path given to --config."
    )


def test_an_empty_file_changes_nothing(tmp_path):
    for name in ("empty.toml", "empty.yaml"):
        assert config_of("--config", write(tmp_path, "", name)) == config_of()
