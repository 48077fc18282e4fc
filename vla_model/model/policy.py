"""The Mobile VLA policy: Kosmos-2 backbone + [LRN] feature per frame, LSTM head over a window of 8 features.

Two paths give the same predictions: training runs a whole window at once (`forward`), inference runs the
backbone once per new frame (`observe`) and the head over the last `window_size` features (`predict_chunk`).
"""
from __future__ import annotations

from collections import deque
from typing import Any, Sequence

import numpy as np
import torch
from PIL import Image
from torch import nn
from transformers import Kosmos2Config, Kosmos2Model

from envs.action_convention import GRIPPER
from envs.robot_config import RobotConfig
from vla_model.model.backbone import KosmosBackbone, build_kosmos, kosmos_config, load_tokenizer, weights_fingerprint
from vla_model.model.config import CLIP_MEAN, CLIP_STD, ConfigError, ModelConfig
from vla_model.model.deployment_profile import DeploymentProfile, FrameSteps
from vla_model.model.finetune import configure_finetuning
from vla_model.model.head import build_head
from vla_model.model.lowering import lowering_named
from vla_model.model.precision import autocast, cast_frozen

PIL_FILTERS = {"bilinear": Image.Resampling.BILINEAR, "bicubic": Image.Resampling.BICUBIC,
               "nearest": Image.Resampling.NEAREST}


def preprocess_frame(
    frame: np.ndarray,
    image_size: int = 224,
    mean: Sequence[float] = CLIP_MEAN,
    std: Sequence[float] = CLIP_STD,
    steps: FrameSteps = FrameSteps(),
) -> torch.Tensor:
    """uint8 (H, W, 3) RGB -> float32 (3, image_size, image_size): channel order, resize, normalization by `steps`.

    The defaults (RGB, torch's antialiased bilinear on floats, mean/std) are our training's; a deployment profile
    gives others, such as their pipelines' PIL resize of the uint8 frame.
    """
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[-1] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"frame: expected uint8 (H, W, 3) RGB, got {frame.dtype} {frame.shape}")
    if steps.colour_order == "bgr":
        frame = frame[..., ::-1]
    resized = frame.shape[:2] != (image_size, image_size)
    if resized and steps.resize_with == "pil":
        frame = np.array(Image.fromarray(np.ascontiguousarray(frame)).resize(
            (image_size, image_size), PIL_FILTERS[steps.resize]))
    pixels = torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1).to(torch.float32) / 255.0
    if resized and steps.resize_with == "torch":
        smooth = steps.resize != "nearest"  # antialiasing exists for the smooth modes only
        pixels = nn.functional.interpolate(
            pixels[None], size=(image_size, image_size), mode=steps.resize, antialias=smooth,
            **({"align_corners": False} if smooth else {}),
        )[0].clamp(0.0, 1.0)
    if not steps.normalize:
        return pixels
    mean_t = torch.tensor(mean, dtype=torch.float32)[:, None, None]
    std_t = torch.tensor(std, dtype=torch.float32)[:, None, None]
    return (pixels - mean_t) / std_t


class OneRobot:
    """The surface of a policy that drives one robot (reset, observe, predict_chunk, step), over its own window,
    and new windows for more robots (`session`): what MobileVLAPolicy and the ONNX policy share.

    A subclass has a `config` and runs frames through `encode` and windows through `predict`.
    """

    config: ModelConfig

    def _own_session(self) -> PolicySession:
        if getattr(self, "_session", None) is None:
            self._session = PolicySession(self)  # the window of the one robot this policy object drives
        return self._session

    def preprocess(self, frame: np.ndarray) -> torch.Tensor:
        """One uint8 frame -> normalized (3, S, S) tensor at this model's image size."""
        return preprocess_frame(frame, self.config.image_size, self.config.image_mean, self.config.image_std)

    def reset(self) -> None:
        """Forget the feature window (start of an episode)."""
        self._own_session().reset()

    def observe(self, frame: np.ndarray, instruction: str) -> None:
        """Run the backbone once on a new frame and keep its feature (the last `window_size` are kept)."""
        self._own_session().observe(frame, instruction)

    def predict_chunk(self) -> np.ndarray:
        """(fwd_pred_next_n, 3) float32 for the newest frame: dx, dy in [-1, 1], gripper = P(closed) in [0, 1].

        Before `window_size` frames were seen, our heads see the window padded at the front with the first
        feature (RoboVLMs' heads the frames seen so far).
        """
        return self._own_session().predict_chunk()

    def session(self, profile: DeploymentProfile | None = None) -> PolicySession:
        """A new, empty feature window over this policy's weights: one per client that drives a robot with it.

        `profile` (a deployment profile) changes the frames' preprocessing, the window and the executed row.
        """
        return PolicySession(self, profile)

    def step(self, frame: np.ndarray, instruction: str) -> np.ndarray:
        """observe(frame, instruction) then predict_chunk()."""
        self.observe(frame, instruction)
        return self.predict_chunk()


class MobileVLAPolicy(OneRobot, nn.Module):
    """Frames + instruction -> chunks of `fwd_pred_next_n` normalized actions (dx, dy, gripper)."""

    def __init__(self, config: ModelConfig, backbone: KosmosBackbone, base_fingerprint: str = "") -> None:
        super().__init__()
        self.config = config
        self.backbone = backbone
        self.head = build_head(backbone.feature_dim, config.fwd_pred_next_n, config.act_head)
        self.base_fingerprint = base_fingerprint
        self.robot_config: RobotConfig | None = None
        self.source: dict[str, Any] | None = None  # where an imported policy came from (robovlms_import)
        self.precision = config.train_setup.precision  # what it runs in (vla_model.model.lowering lowers it)
        self.frames_encoded = 0

    @property
    def device(self) -> torch.device:
        """Where the policy's weights live."""
        return self.backbone.lrn.device

    @property
    def pads_window(self) -> bool:
        """Whether a window not yet full is padded at the front (ours) or run as it is (RoboVLMs' heads)."""
        return getattr(self.head, "pads_window", True)

    def encode(self, pixel_values: torch.Tensor, instructions: Sequence[str]) -> torch.Tensor:
        """(N, 3, S, S) frames, N instructions -> (N, D) float32 features (backbone in the policy's precision)."""
        with autocast(lowering_named(self.precision).weights, pixel_values.device):
            features = self.backbone(pixel_values, instructions)
        return features.float()

    def predict(self, features: torch.Tensor) -> torch.Tensor:
        """(B, W, D) features -> (B, W, chunk, 3) float32; gripper column is a logit.

        The head always runs in fp32: it is small, and CPU LSTM kernels refuse low precision.
        """
        return self.head(features.float())

    def forward(self, images: torch.Tensor, instructions: Sequence[str]) -> torch.Tensor:
        """Training path: (B, W, 3, S, S) windows and B instructions -> (B, W, chunk, 3); gripper column a logit."""
        if images.ndim != 5 or images.shape[0] != len(instructions):
            raise ValueError(
                f"expected images (B, W, 3, H, W) and B instructions, got {tuple(images.shape)} and "
                f"{len(instructions)} instructions"
            )
        batch, window = images.shape[:2]
        per_frame = [text for text in instructions for _ in range(window)]
        features = self.encode(images.flatten(0, 1), per_frame).unflatten(0, (batch, window))
        return self.predict(features)

    def trainable_state_dict(self) -> dict[str, torch.Tensor]:
        """The tensors this config trains (LoRA adapters, [LRN], head, and any unfrozen backbone weights)."""
        return {name: param for name, param in self.named_parameters() if param.requires_grad}

    def parameter_counts(self) -> dict[str, int]:
        """Total and trainable parameter counts."""
        total = sum(p.numel() for p in self.parameters())
        trainable = sum(p.numel() for p in self.parameters() if p.requires_grad)
        return {"total": total, "trainable": trainable}

    def settings(self) -> dict[str, Any]:
        """What an episode log records about the model (and, for an imported one, where it came from)."""
        settings = model_settings(self.config, self.precision)
        return settings | ({"imported_from": self.source} if self.source else {})


class PolicySession:
    """One robot's window of features over a shared policy, torch or ONNX (the ChunkPolicy surface VLAAgent drives).

    Several sessions on one policy keep separate windows and share the weights: a server with several clients.
    A deployment profile, if given, decides the preprocessing, the window's length and which row is returned.
    """

    def __init__(self, policy: OneRobot, profile: DeploymentProfile | None = None) -> None:
        self.policy = policy
        self.config = policy.config
        self.profile = profile
        self.window_size = (profile.window_size if profile else 0) or policy.config.window_size
        self._window: deque[torch.Tensor] = deque(maxlen=self.window_size)

    def preprocess(self, frame: np.ndarray) -> torch.Tensor:
        """One uint8 RGB frame -> the model's input, as this session's profile (or the model's config) says."""
        if self.profile is None:
            return self.policy.preprocess(frame)
        config = self.config
        return preprocess_frame(frame, config.image_size, config.image_mean, config.image_std, self.profile.frames)

    def reset(self) -> None:
        """Forget the feature window (start of an episode)."""
        self._window.clear()

    def observe(self, frame: np.ndarray, instruction: str) -> None:
        """Run the backbone once on a new frame and keep its feature (the last `window_size` are kept)."""
        observe_sessions([self], [frame], [instruction])

    @property
    def newest_feature(self) -> torch.Tensor:
        """The backbone's feature of the newest frame observed ((D,), as the head gets it)."""
        if not self._window:
            raise ValueError("newest_feature: no frame yet; call observe(frame, instruction) first")
        return self._window[-1]

    def add_feature(self, feature: torch.Tensor) -> None:
        """Keep a feature the backbone made for this session's newest frame (observe_sessions batches them)."""
        self._window.append(feature)

    @torch.no_grad()
    def predict_chunk(self) -> np.ndarray:
        """(fwd_pred_next_n, 3) float32: the newest frame's chunk (the profile may ask for the oldest frame's).

        Our heads see the window padded at the front with its first feature; RoboVLMs' heads run over the frames
        seen so far, as their inference does.
        """
        if not self._window:
            raise ValueError("predict_chunk: no frame yet; call observe(frame, instruction) first")
        features = list(self._window)
        if self.policy.pads_window:
            features = [features[0]] * (self.window_size - len(features)) + features
        row = 0 if self.profile is not None and self.profile.execute == "first_frame" else -1
        chunk = self.policy.predict(torch.stack(features)[None])[0, row]
        chunk[:, GRIPPER] = torch.sigmoid(chunk[:, GRIPPER])
        return chunk.cpu().numpy().astype(np.float32)

    def settings(self) -> dict[str, Any]:
        """What an episode log records about the model (and the deployment profile, when there is one)."""
        settings = self.policy.settings() | {"window_size": self.window_size}
        return settings | ({"profile": self.profile.to_dict()} if self.profile else {})


@torch.no_grad()
def observe_sessions(sessions: Sequence[PolicySession], frames: Sequence[np.ndarray],
                     instructions: Sequence[str]) -> None:
    """Each session's new frame through the backbone in one forward (one policy), each feature to its own window.

    The same features as one session at a time (the causal text model does not let a row's padding reach its
    [LRN]); several robots, or env slots, then cost one batched pass instead of one pass each.
    """
    if not sessions:
        return
    if not len(sessions) == len(frames) == len(instructions):
        raise ValueError(f"observe_sessions: {len(sessions)} sessions, {len(frames)} frames and "
                         f"{len(instructions)} instructions")
    policy = sessions[0].policy
    if any(session.policy is not policy for session in sessions):
        raise ValueError("observe_sessions: every session must be of the same policy")
    observe_pixels(sessions, [session.preprocess(frame) for session, frame in zip(sessions, frames)], instructions)


@torch.no_grad()
def observe_pixels(sessions: Sequence[PolicySession], pixels: Sequence[torch.Tensor],
                   instructions: Sequence[str]) -> None:
    """observe_sessions on frames already preprocessed ((3, S, S) each): one backbone forward for all."""
    policy = sessions[0].policy
    batch = torch.stack(list(pixels)).to(policy.device)
    for session, feature in zip(sessions, policy.encode(batch, list(instructions))):
        session.add_feature(feature)
    policy.frames_encoded += len(sessions)


def model_settings(config: ModelConfig, precision: str, runtime: str = "torch") -> dict[str, Any]:
    """What an episode log records about a model, whichever runtime (torch, onnxruntime) runs it and in which
    precision."""
    return {
        "runtime": runtime,
        "model_name": config.name,
        "model_path": config.model_path,
        "window_size": config.window_size,
        "fwd_pred_next_n": config.fwd_pred_next_n,
        "precision": precision,
        "lora": config.is_lora,
    }


def assemble_policy(
    config: ModelConfig, kosmos: Kosmos2Model, tokenizer: Any | None, base_fingerprint: str | None = None
) -> MobileVLAPolicy:
    """Wrap a built Kosmos-2 into the policy: fine-tuning mode, [LRN], head, precision (seeded by the config).

    `base_fingerprint` names the base the policy's backbone came from; None computes it from `kosmos`.
    """
    vision = kosmos.config.vision_config
    if config.image_size != vision.image_size:
        raise ConfigError(f"image_size: {config.image_size} differs from the backbone's {vision.image_size}")
    if base_fingerprint is None:
        base_fingerprint = "" if next(kosmos.parameters()).is_meta else weights_fingerprint(kosmos)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        configure_finetuning(kosmos, config.train_setup)
        policy = MobileVLAPolicy(config, KosmosBackbone(kosmos, tokenizer, config.prompt), base_fingerprint)
    cast_frozen(policy, config.train_setup.precision)
    return policy


def build_policy(config: ModelConfig, device: str | torch.device = "cpu") -> MobileVLAPolicy:
    """A new policy to train for `config`: its base backbone (files, or a seeded random init), untrained head."""
    policy = assemble_policy(config, build_kosmos(config), load_tokenizer(config))
    return policy.to(device)


def build_on_meta(config: ModelConfig, kosmos_cfg: Kosmos2Config | None = None) -> MobileVLAPolicy:
    """The policy with every tensor on the meta device (shapes only, no memory, no weights read); `kosmos_cfg`:
    the backbone's config when already read, else read from config.model_path."""
    with torch.device("meta"):
        return assemble_policy(config, Kosmos2Model(kosmos_cfg or kosmos_config(config.model_path)), tokenizer=None)
