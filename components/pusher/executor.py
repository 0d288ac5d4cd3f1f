"""The Pusher's executor: TFX's, pushing a copy of the model with its model card added."""

import os

from absl import logging
from tfx.components.pusher import executor as tfx_pusher
from tfx.types import artifact_utils
from tfx.utils import io_utils

from components import component_specs as specs
from components import provenance
from evaluation import model_card

# Where the card goes inside the pushed SavedModel: TensorFlow Serving ignores the folder,
# and the project's tools read segmentation.json from it too (models/features.py).
CARD_DIR = "assets.extra"


class Executor(tfx_pusher.Executor):
    def Do(self, input_dict, output_dict, exec_properties):
        self._card = None
        self._card_inputs = (input_dict, exec_properties)
        super().Do(input_dict, output_dict, exec_properties)
        pushed = artifact_utils.get_single_instance(output_dict[specs.PUSHED_MODEL_KEY])
        if self._card is not None and pushed.get_int_custom_property("pushed") == 1:
            record_card(pushed, self._card)
            logging.info("Model card: %s", pushed.get_string_custom_property("model_card"))

    def GetModelPath(self, input_dict) -> str:
        """TFX's Pusher calls this once the model is known to be blessed: the model to push
        is a copy of the Trainer's, with the card written into it. Both destinations TFX
        copies to (the serving directory and the PushedModel) then get the card."""
        model_path = super().GetModelPath(input_dict)
        input_dict, exec_properties = self._card_inputs
        self._card = provenance.build_model_card(
            exec_properties[specs.MODEL_NAME_KEY],
            artifact_utils.get_single_instance(input_dict[specs.MODEL_KEY]),
            artifact_utils.get_single_instance(input_dict[specs.EXAMPLES_KEY]),
            artifact_utils.get_single_instance(input_dict[specs.EVALUATION_KEY]),
            artifact_utils.get_single_instance(input_dict[specs.MODEL_BLESSING_KEY]),
        )
        staged = os.path.join(self._get_tmp_dir(), "model_with_card")
        io_utils.copy_dir(model_path, staged)
        model_card.write(self._card, os.path.join(staged, CARD_DIR))
        return staged


def record_card(pushed, card: model_card.ModelCard):
    """The card's key facts as properties of the PushedModel, for ML Metadata queries."""
    destination = pushed.get_string_custom_property("pushed_destination")
    pushed.set_string_custom_property(
        "model_card", os.path.join(destination, CARD_DIR, model_card.MARKDOWN_FILE)
    )
    pushed.set_string_custom_property("data_source", card.data["source"])
    pushed.set_int_custom_property("synthetic_data", int(card.data["synthetic"]))
    pushed.set_int_custom_property("pretrained_encoder", int(card.encoder["pretrained"]))
    for name in ("mean_dice", "foreground_dice"):
        value = card.evaluation["metrics"].get(name)
        if value is not None:
            pushed.set_float_custom_property(name, value)
