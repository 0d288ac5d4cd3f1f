import json
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from tfx.types import artifact_utils, standard_artifacts

from components.folder_example_gen import IngestionReport, executor
from models import features
from models.mask_convention import MaskFormat, parse_mask_format
from sources import pairs
from tests import trap_files


def run_executor(tmp_path, mask_format=None, **overrides):
    examples = standard_artifacts.Examples()
    examples.uri = str(tmp_path / "examples")
    report = IngestionReport()
    report.uri = str(tmp_path / "report")
    os.makedirs(report.uri)
    exec_properties = {
        "layout": "oxford",
        "root": str(tmp_path / "oxford"),
        "image_dir": "",
        "mask_dir": "",
        "mask_format": (mask_format or MaskFormat.trimap()).to_json(),
        "eval_fraction": 0.25,
        "seed": 0,
        "max_bad_fraction": 0.5,
    }
    exec_properties.update(overrides)
    executor.Executor().Do({}, {"examples": [examples], "report": [report]}, exec_properties)
    return examples, report


def read_split(examples, split):
    split_dir = artifact_utils.get_split_uri([examples], split)
    files = tf.io.gfile.glob(os.path.join(split_dir, "*"))
    records = tf.data.TFRecordDataset(files, compression_type="GZIP")
    return files, [tf.train.Example.FromString(r.numpy()) for r in records]


def feature(example, key):
    values = example.features.feature[key]
    return values.bytes_list.value or values.int64_list.value


def test_oxford_folder_with_every_trap(tmp_path):
    trap_files.oxford_folder_with_traps(str(tmp_path / "oxford"))
    examples, report = run_executor(tmp_path)

    written = {}
    for split in ("train", "eval"):
        files, records = read_split(examples, split)
        assert [os.path.basename(f) for f in files] == ["data_tfrecord-00000-of-00001.gz"]
        for record in records:
            written[feature(record, features.FILE_NAME_KEY)[0].decode()] = record
        assert examples.get_int_custom_property(f"num_examples_{split}") == len(records)
    assert sorted(written) == [f"{name}.jpg" for name in trap_files.OXFORD_GOOD]

    # Every written image decodes in TensorFlow as RGB of its size, masks as trimaps.
    for record in written.values():
        image = tf.io.decode_image(feature(record, features.IMAGE_KEY)[0], channels=3)
        mask = tf.io.decode_png(feature(record, features.MASK_KEY)[0])
        assert image.shape == (24, 32, 3) and mask.shape == (24, 32, 1)
        np.testing.assert_array_equal(mask.numpy()[..., 0], trap_files.trimap())
    pug = written["pug_6.jpg"]  # CMYK JPEG, listed as breed 26 (pug), a dog
    assert feature(pug, features.LABEL_KEY) == [25] and feature(pug, features.SPECIES_KEY) == [1]

    with open(os.path.join(report.uri, "report.json")) as file:
        report_json = json.load(file)
    bad = {n: t for n, t in trap_files.OXFORD_TRAPS.items() if t[2]}
    assert report_json["num_skipped"] == len(bad) == report.get_int_custom_property("num_skipped")
    assert examples.get_int_custom_property("num_skipped") == len(bad)
    assert report_json["examples_written"] == {
        "train": examples.get_int_custom_property("num_examples_train"),
        "eval": examples.get_int_custom_property("num_examples_eval"),
    }
    reasons = {os.path.basename(entry["path"]): entry["reason"] for entry in report_json["skipped"]}
    for name, (_, mask_kind, _, reason) in bad.items():
        mask_is_bad = mask_kind in ("wrong_size", "unknown_values")
        file_name = f"{name}.png" if mask_is_bad else f"{name}.jpg"
        assert reason in reasons[file_name], (file_name, reasons)


def test_generic_folder_with_a_palette(tmp_path):
    palette = parse_mask_format(palette="background=#000000,cat=#ff0000")
    for index in range(6):
        trap_files.write_image("rgb_jpeg", str(tmp_path / "images" / f"img{index}.jpg"), index)
        colours = np.zeros([24, 32, 3], np.uint8)
        colours[: index + 1] = [255, 0, 0]
        trap_files.save(
            Image.fromarray(colours), str(tmp_path / "masks" / f"img{index}.png"), "PNG"
        )
    examples, report = run_executor(
        tmp_path,
        palette,
        layout="folder",
        image_dir=str(tmp_path / "images"),
        mask_dir=str(tmp_path / "masks"),
    )
    records = read_split(examples, "train")[1] + read_split(examples, "eval")[1]
    assert len(records) == 6 and report.get_int_custom_property("num_skipped") == 0
    for record in records:
        index = int(feature(record, features.FILE_NAME_KEY)[0].decode()[3])
        mask = tf.io.decode_png(feature(record, features.MASK_KEY)[0]).numpy()[..., 0]
        assert (mask[: index + 1] == 1).all() and (mask[index + 1 :] == 0).all()
        # A generic folder knows no breed or species: the features are absent, not -1.
        assert features.LABEL_KEY not in record.features.feature


def test_mostly_bad_source_fails_and_leaves_no_split_file(tmp_path):
    trap_files.generated_oxford_folder(str(tmp_path / "oxford"), num_trainval=30, num_test=0)
    wrong = parse_mask_format(values="background=0,pet=1")  # trimaps hold 1, 2 and 3
    with pytest.raises(executor.TooManyBadPairs, match=r"20 of the 20 pairs read so far") as error:
        run_executor(tmp_path, wrong)
    assert not tf.io.gfile.glob(str(tmp_path / "examples" / "Split-*" / "*"))
    # The list of bad files outlives the failed execution (TFX removes its outputs).
    report_path = os.path.join(executor.failed_report_dir(str(tmp_path / "report")), "report.json")
    assert str(error.value).endswith(f"Every unusable file and why: {report_path}")
    with open(report_path) as file:
        report = json.load(file)
    assert report["num_skipped"] == len(report["skipped"]) == 20
    assert sum(report["skipped_by_reason"].values()) == 20


def test_generic_folder_with_binary_masks_and_traps(tmp_path):
    images, masks = tmp_path / "images", tmp_path / "masks"
    binary = (trap_files.trimap() == 1).astype(np.uint8) * 255  # pet 255, background 0
    for index in range(8):
        trap_files.write_image("rgb_jpeg", str(images / f"img{index}.jpg"), index)
        trap_files.save(Image.fromarray(binary), str(masks / f"img{index}.png"), "PNG")
    trap_files.write_image("rgb_jpeg", str(images / "orphan.jpg"))  # no mask
    trap_files.save(Image.fromarray(binary), str(masks / "lossy.jpg"), "JPEG")  # JPEG mask
    trap_files.write_image("rgb_jpeg", str(images / "lossy.jpg"))
    trap_files.save(Image.fromarray(binary[:20]), str(masks / "short.png"), "PNG")
    trap_files.write_image("rgb_jpeg", str(images / "short.jpg"))
    trap_files.save(Image.fromarray(binary // 2), str(masks / "grey.png"), "PNG")  # 127s
    trap_files.write_image("rgb_jpeg", str(images / "grey.jpg"))

    examples, report = run_executor(
        tmp_path,
        parse_mask_format(values="background=0,pet=255"),
        layout="folder",
        image_dir=str(images),
        mask_dir=str(masks),
    )
    records = read_split(examples, "train")[1] + read_split(examples, "eval")[1]
    assert sorted(feature(r, features.FILE_NAME_KEY)[0].decode() for r in records) == [
        f"img{i}.jpg" for i in range(8)
    ]
    stored = tf.io.decode_png(feature(records[0], features.MASK_KEY)[0]).numpy()[..., 0]
    assert set(np.unique(stored)) == {0, 255}  # kept in the declared values
    with open(os.path.join(report.uri, "report.json")) as file:
        report_json = json.load(file)
    reasons = {os.path.basename(s["path"]): s["reason"] for s in report_json["skipped"]}
    assert reasons.keys() == {"orphan.jpg", "lossy.jpg", "short.png", "grey.png"}
    # Every reason is counted, not only the most common ones.
    assert sum(report_json["skipped_by_reason"].values()) == report_json["num_skipped"] == 4
    assert "no mask named orphan.*" in reasons["orphan.jpg"]
    assert "mask is a JPEG" in reasons["lossy.jpg"]
    assert "mask is 32x20 but its image is 32x24" in reasons["short.png"]
    assert "mask values [127] are outside the declared convention" in reasons["grey.png"]


def split_bytes(examples):
    """Each split's examples, serialized, in the order written."""
    return {
        split: [record.SerializeToString() for record in read_split(examples, split)[1]]
        for split in ("train", "eval")
    }


def test_an_oxford_folder_in_ram_gives_the_examples_and_report_of_the_folder_on_disk(tmp_path):
    """ram:// is TensorFlow's in-memory filesystem, as gs:// is cloud storage: the same files
    there are the same examples, byte for byte, and the same skips."""
    root = trap_files.oxford_folder_with_traps(str(tmp_path / "oxford"))
    uri = trap_files.copy_to_ram(root)
    on_disk, disk_report = run_executor(tmp_path / "disk", root=root)
    in_ram, ram_report = run_executor(tmp_path / "ram", root=uri)
    assert split_bytes(in_ram) == split_bytes(on_disk)
    assert sum(map(len, split_bytes(in_ram).values())) == len(trap_files.OXFORD_GOOD)
    with open(os.path.join(disk_report.uri, "report.json")) as file:
        expected = file.read().replace(root, uri)
    with open(os.path.join(ram_report.uri, "report.json")) as file:
        assert file.read() == expected
    assert in_ram.get_string_custom_property("source") == f"Oxford-IIIT Pet folder {uri}"


def test_a_plain_folder_in_ram_gives_the_examples_of_the_folder_on_disk(tmp_path):
    folder = tmp_path / "photos"
    for index in range(6):
        trap_files.write_image("cmyk_jpeg", str(folder / "images" / f"img{index}.jpg"), index)
        trap_files.write_trimap("ok", str(folder / "masks" / f"img{index}.png"))
    trap_files.write_trimap("wrong_size", str(folder / "masks" / "img0.png"))  # skipped
    uri = trap_files.copy_to_ram(folder)
    layout = dict(layout="folder", root="")
    on_disk, _ = run_executor(
        tmp_path / "disk",
        image_dir=str(folder / "images"),
        mask_dir=str(folder / "masks"),
        **layout,
    )
    in_ram, report = run_executor(
        tmp_path / "ram", image_dir=f"{uri}/images", mask_dir=f"{uri}/masks", **layout
    )
    assert split_bytes(in_ram) == split_bytes(on_disk)
    assert sum(map(len, split_bytes(in_ram).values())) == 5
    assert report.get_int_custom_property("num_skipped") == 1

    # PairReader, which bench/cross_validate.py reads folders with, alike.
    reader = executor.PairReader(MaskFormat.trimap(), max_bad_fraction=0.5)
    for name in ("img0", "img1"):
        read = [
            list(
                reader.tf_examples(
                    [pairs.Pair(name, f"{where}/images/{name}.jpg", f"{where}/masks/{name}.png")],
                    "train",
                )
            )
            for where in (str(folder), uri)
        ]
        assert read[0] == read[1]
    assert len(read[0]) == 1 and len(reader.skipped) == 2  # img0's mask, on disk and in ram
    assert reader.skipped[1]["path"] == f"{uri}/masks/img0.png"
