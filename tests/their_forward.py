"""Our users' forward passes, written again from their public code, not from ours: the reference our import is held to.

Read from minuum/RoboVLMs (robovlms/model/backbone/base_backbone.py `forward_continuous` and its Kosmos fallback,
robovlms/model/policy_head/mobile_vla_policy.py, robovlms/data/mobile_vla_h5_dataset.py), minuum/vla
(Mobile_VLA/robovlms/model/backbone/robokosmos.py `model_encode_images`, Mobile_VLA/inference_server.py) and
RoboVLMs' `get_text_function("kosmos")`; summarised in ../shared/USERS_STACK.md section 2. Everything runs on
their own modules (tests/robovlms_fixtures.their_model: HF Kosmos2ForConditionalGeneration, `action_token`,
`act_head`), never on vla_model.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from PIL import Image
from torch import nn

THEIR_TEMPLATE = "<grounding>An image of a robot {}"
TRAINING_MAX_TEXT = 512  # their text function truncates at 512 tokens and pads to the longest


def their_pixels(frame: np.ndarray, size: int, resample: int, normalize: bool, mean: Sequence[float],
                 std: Sequence[float], reverse_channels: bool) -> torch.Tensor:
    """A uint8 (H, W, 3) frame as their pipelines hand it to the model: (3, size, size) float32.

    The uint8 image goes through PIL's resize with their filter (BILINEAR in the training read, BICUBIC in the
    main server's torchvision Resize, which calls PIL on a PIL image), then /255, then Normalize if they use it.
    `reverse_channels`: their training read takes the HDF5's BGR array as RGB.
    """
    array = np.ascontiguousarray(frame[..., ::-1] if reverse_channels else frame)
    resized = np.asarray(Image.fromarray(array).resize((size, size), resample))
    pixels = torch.from_numpy(resized.copy()).float().div(255.0).permute(2, 0, 1)
    if normalize:
        pixels = pixels.sub(torch.tensor(mean).view(3, 1, 1)).div(torch.tensor(std).view(3, 1, 1))
    return pixels


def their_text(tokenizer: Any, instruction: str, pad_to: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(1, L) ids and attention mask: the training text function (pad_to 0) or their server's (pad_to 256).

    Both call the tokenizer with its default special tokens on the stripped instruction behind their prefix.
    """
    tokenizer.padding_side = "right"
    prompt = THEIR_TEMPLATE.format(instruction.strip())
    if pad_to:
        encoded = tokenizer(prompt, return_tensors="pt", padding="max_length", max_length=pad_to, truncation=True)
    else:
        encoded = tokenizer([prompt], return_tensors="pt", padding="longest", truncation="only_first",
                            max_length=TRAINING_MAX_TEXT)
    return encoded["input_ids"], encoded["attention_mask"]


def _kosmos(backbone: nn.Module) -> nn.Module:
    """The HF Kosmos2ForConditionalGeneration under a peft wrapper (LoRA lives inside its modules)."""
    return backbone.get_base_model() if hasattr(backbone, "get_base_model") else backbone


def fork_feature(backbone: nn.Module, action_token: torch.Tensor, pixels: torch.Tensor, ids: torch.Tensor,
                 mask: torch.Tensor) -> torch.Tensor:
    """Their fork's Kosmos fallback: (N, 3, S, S) pixels and the tokenizer's (N, L) ids/mask -> (N, D).

    The text is embedded, padded with id 0 and mask 0 to the number of image latents; the latents go over the first
    positions through image_embeds_position_mask (the mask there is left as the tokenizer gave it); the action
    token is appended, attended; the feature is the last hidden state at that last position.
    """
    kosmos = _kosmos(backbone)
    latents = kosmos.config.latent_query_num
    short = latents - ids.shape[1]
    if short > 0:
        ids = torch.cat([ids, ids.new_zeros(ids.shape[0], short)], dim=1)
        mask = torch.cat([mask, mask.new_zeros(mask.shape[0], short)], dim=1)
    count = ids.shape[0]
    image_slots = torch.zeros(count, ids.shape[1] + 1, dtype=torch.bool)
    image_slots[:, :latents] = True
    embeds = kosmos.text_model.model.embed_tokens(ids).clone()
    embeds = torch.cat([embeds, action_token.view(1, 1, -1).expand(count, 1, -1)], dim=1)
    mask = torch.cat([mask, mask.new_ones(count, 1)], dim=1)
    out = kosmos(pixel_values=pixels, input_ids=None, inputs_embeds=embeds, attention_mask=mask,
                 image_embeds_position_mask=image_slots, output_hidden_states=True, use_cache=False)
    return out.hidden_states[-1][:, -1]


def upstream_feature(backbone: nn.Module, action_token: torch.Tensor, pixels: torch.Tensor, ids: torch.Tensor,
                     mask: torch.Tensor, tokenizer: Any) -> torch.Tensor:
    """Upstream RoboVLMs' forward_continuous on Kosmos: (N, 3, S, S), (N, L) ids/mask -> (N, D).

    Image latents (vision model, post_layernorm, L2 normalise, projection) are inserted after the first token when
    the tokenizer has a bos_token, attended; the action token goes in before the last position when it has an
    eos_token, attended; the text model runs on the embeddings alone. Feature: last hidden state at the action token.
    """
    kosmos = _kosmos(backbone)
    patches = kosmos.vision_model(pixel_values=pixels, return_dict=True).last_hidden_state
    patches = nn.functional.normalize(kosmos.vision_model.model.post_layernorm(patches), dim=-1)
    image = kosmos.image_to_text_projection(patches)[0]
    count = ids.shape[0]
    words = kosmos.text_model.model.embed_tokens(ids)
    after = int(tokenizer.bos_token is not None)
    embeds = torch.cat([words[:, :after], image, words[:, after:]], dim=1)
    mask = torch.cat([mask[:, :after], mask.new_ones(count, image.shape[1]), mask[:, after:]], dim=1)
    slot = embeds.shape[1] - int(tokenizer.eos_token is not None)
    embeds = torch.cat([embeds[:, :slot], action_token.view(1, 1, -1).expand(count, 1, -1), embeds[:, slot:]], dim=1)
    mask = torch.cat([mask[:, :slot], mask.new_ones(count, 1), mask[:, slot:]], dim=1)
    out = kosmos.text_model(inputs_embeds=embeds, attention_mask=mask, output_hidden_states=True, use_cache=False)
    return out.hidden_states[-1][:, slot]


class TheirHeadAtInference:
    """Their LSTM heads called one frame at a time: the LSTM state is carried while at most `window` frames were
    seen; after that the last `window` features are run again from a zero state, and the newest output is used."""

    def __init__(self, head: nn.Module, window: int) -> None:
        self.head, self.window = head, window
        self.memory: list[torch.Tensor] = []
        self.state: Any = None

    def step(self, feature: torch.Tensor) -> torch.Tensor:
        """(D,) feature of the newest frame -> its chunk: (chunk, 2) velocities, or (chunk, 3) with P(closed)."""
        token = feature.view(1, 1, -1)
        self.memory.append(token)
        if len(self.memory) <= self.window:
            out, self.state = self.head.rnn(token, self.state)
        else:
            self.memory = self.memory[-self.window:]
            out, _ = self.head.rnn(torch.cat(self.memory, dim=1), None)
        last = out[:, -1:]
        chunk = self.head.chunk
        if hasattr(self.head, "velocities"):
            return self.head.velocities.mlp(last).view(chunk, 2)
        arm = self.head.actions.mlp(last).view(chunk, 2)
        return torch.cat([arm, torch.sigmoid(self.head.gripper.mlp(last).view(chunk, 1))], dim=1)
