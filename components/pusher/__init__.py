"""Pusher: TFX's Pusher, which pushes the model card with the model."""

from components.pusher.component import Pusher

__all__ = ["Pusher"]
