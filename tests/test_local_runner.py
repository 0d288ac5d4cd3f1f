import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import local_runner
from pipeline import configs
from tests import trap_files


def source_of(*argv):
    return local_runner.config_from_args(local_runner.parse_args(list(argv))).data


def test_flags_choose_the_data_source():
    assert source_of() == configs.DATASETS["synthetic_pets"]
    assert source_of("--dataset", "oxford_iiit_pet", "--data-dir", "/d") == configs.TFDSSource(
        dataset="oxford_iiit_pet:4.*.*",
        data_dir="/d",
        train_split="train[:90%]",
        eval_split="train[90%:]",
    )
    assert source_of("--dataset", "voc/2012", "--mask-key", "m", "--mask-values", "a=0,b=1") == (
        configs.TFDSSource(dataset="voc/2012", mask_key="m", mask_values="a=0,b=1")
    )
    assert source_of("--oxford-dir", "/pets", "--eval-fraction", "0.2") == (
        configs.OxfordFolderSource(root="/pets", eval_fraction=0.2)
    )
    # Folder paths are made absolute: the pipeline's components may run elsewhere.
    assert source_of("--image-dir", "i", "--mask-dir", "m", "--mask-palette", "a=#000000") == (
        configs.ImageFolderSource(
            os.path.abspath("i"), os.path.abspath("m"), mask_palette="a=#000000"
        )
    )


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--oxford-dir", "/x", "--image-dir", "/y"], "not both"),
        (["--image-dir", "/y"], "go together"),
        (["--image-dir", "/y", "--mask-dir", "/z"], "Say what the masks' pixels mean"),
        # Flags of another kind of source would be ignored without a word.
        (["--oxford-dir", "/x", "--dataset", "nope"], "--dataset is for a TFDS dataset, and "),
        (["--image-dir", "/y", "--mask-dir", "/z", "--train-split", "t"], "--train-split is"),
        (["--oxford-dir", "/x", "--data-dir", "/d"], "--data-dir is for a TFDS dataset"),
        (["--dataset", "oxford_iiit_pet", "--eval-fraction", "0.2"], "--eval-fraction is for"),
        (["--oxford-dir", "/x", "--mask-values", "pet=1"], "whose values are fixed"),
        (["--mask-palette", "pet=#ff0000"], "--mask-palette is for colour masks"),
        # Out of range, or 0, which used to become the default 0.1.
        (["--oxford-dir", "/x", "--eval-fraction", "0"], "eval_fraction=0.0: .* between 0 and 1"),
        (["--oxford-dir", "/x", "--eval-fraction", "1.5"], "eval_fraction=1.5"),
    ],
)
def test_contradictory_flags_are_refused(tmp_path, argv, message):
    with pytest.raises(SystemExit, match=message) as error:
        local_runner.main(argv + ["--output-dir", str(tmp_path / "outputs")])
    assert str(error.value).startswith("Configuration error: ")
    assert not (tmp_path / "outputs").exists()


def test_a_bad_folder_stops_before_any_output_is_written(tmp_path):
    root = trap_files.generated_oxford_folder(str(tmp_path / "oxford"))
    output_dir = tmp_path / "outputs"
    argv = ["--image-dir", f"{root}/images", "--mask-dir", f"{root}/annotations/trimaps"]
    argv += ["--mask-values", "background=0,pet=1", "--output-dir", str(output_dir)]
    with pytest.raises(SystemExit, match="Configuration error: 16 of 16 sampled pairs"):
        local_runner.main(argv)
    assert not output_dir.exists()


def test_a_folder_that_passes_the_sample_but_is_mostly_bad_fails_in_one_message(tmp_path):
    """51 of 100 pairs unusable, none of them among the 20 that preflight samples: the
    ExampleGen stops, and the console says why and where the list of bad files is."""
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    bad = [index for index in range(100) if index % 5][:51]  # preflight reads every 5th
    for index in range(100):
        Image.fromarray(np.full((32, 32, 3), index, np.uint8)).save(images / f"img{index:03}.jpg")
        mask = np.zeros((32, 32), np.uint8)
        mask[8:24, 8:24] = 7 if index in bad else 255  # 7 is not a declared value
        Image.fromarray(mask).save(masks / f"img{index:03}.png")
    output_dir = tmp_path / "outputs"
    command = [sys.executable, os.path.join(configs.PROJECT_DIR, "local_runner.py")]
    command += ["--image-dir", str(images), "--mask-dir", str(masks)]
    command += ["--mask-values", "background=0,pet=255", "--output-dir", str(output_dir)]

    finished = subprocess.run(command, capture_output=True, text=True, timeout=600)

    assert finished.returncode == 1, finished.stdout[-2000:] + finished.stderr[-2000:]
    assert "Traceback" not in finished.stdout + finished.stderr
    message = finished.stderr.strip().splitlines()[-1]
    # It stops as soon as more than half of what it read is bad (at least 20 read).
    counts = re.match(r"Data error: (\d+) of the (\d+) pairs read so far are unusable", message)
    assert counts, message
    num_bad, num_read = map(int, counts.groups())
    assert num_read >= 20 and num_bad > num_read / 2
    report_path = message.rsplit("Every unusable file and why: ", 1)[1]
    with open(report_path) as file:
        report = json.load(file)
    skipped = {entry["path"] for entry in report["skipped"]}
    assert len(skipped) == report["num_skipped"] == num_bad
    assert skipped <= {str(masks / f"img{index:03}.png") for index in bad}


def test_beam_args_replace_the_in_memory_runner(tmp_path):
    def beam_args(*argv):
        return local_runner.config_from_args(local_runner.parse_args(list(argv))).beam_pipeline_args

    assert beam_args() == configs.PipelineConfig().beam_pipeline_args
    portable = ("--runner=PortableRunner", "--job_endpoint=localhost:8099")
    assert beam_args(*[f"--beam-arg={arg}" for arg in portable]) == portable
    config = tmp_path / "c.toml"
    config.write_text('beam_pipeline_args = ["--runner=DirectRunner"]\n')
    assert beam_args("--config", str(config)) == ("--runner=DirectRunner",)
    assert beam_args("--config", str(config), "--beam-arg=--runner=FlinkRunner") == (
        "--runner=FlinkRunner",
    )
