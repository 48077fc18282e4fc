"""The Kosmos-2 backbone: one frame + instruction -> one feature, the last hidden state at a learned [LRN] token.

Per frame the text model sees the 64 projected image tokens, the prompt and [LRN] in the config's layout
(vla_model/model/token_layout.py; ours: `<s> <image> [64 image tokens] </image> instruction [LRN]`). The submodules
are called directly (vision model, image-to-text projection, text model on inputs_embeds), so no patched
`Kosmos2Model.forward` is needed.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import nn
from transformers import AutoConfig, AutoTokenizer, Kosmos2Config, Kosmos2Model
from transformers.initialization import no_init_weights

from assets import ASSETS_DIR
from vla_model.model.config import ConfigError, ModelConfig, Prompt
from vla_model.model.instruction_tokenizer import IMAGE_END, IMAGE_START
from vla_model.model.spatial_init import apply_spatial_init, spatial_text_config
from vla_model.model.token_layout import image_start_index, token_rows

# Config copies of hub models that ship here, so they can be sized offline (summary on the meta device).
SHIPPED_HUB_CONFIGS: dict[str, Path] = {"microsoft/kosmos-2-patch14-224": ASSETS_DIR / "kosmos2_patch14_224"}


def resolve_model_path(model_path: str) -> str:
    """An existing local folder as given, else a folder shipped under assets/, else the hub id unchanged."""
    if Path(model_path).expanduser().is_dir():
        return str(Path(model_path).expanduser())
    if (ASSETS_DIR / model_path / "config.json").is_file():
        return str(ASSETS_DIR / model_path)
    return model_path


def kosmos_config(model_path: str) -> Kosmos2Config:
    """The Kosmos-2 config for `model_path`; a hub id with a shipped copy is read offline."""
    resolved = resolve_model_path(model_path)
    if not Path(resolved).is_dir() and model_path in SHIPPED_HUB_CONFIGS:
        resolved = str(SHIPPED_HUB_CONFIGS[model_path])
    try:
        config = AutoConfig.from_pretrained(resolved)
    except OSError as err:
        raise ConfigError(f"model_path: cannot read a Kosmos-2 config from {model_path!r} ({err})") from None
    if not isinstance(config, Kosmos2Config):
        raise ConfigError(f"model_path: {model_path!r} is a {type(config).__name__}, not a Kosmos-2 config")
    return config


def build_kosmos(config: ModelConfig) -> Kosmos2Model:
    """The Kosmos-2 model to train: weights from files (from_pretrained), or a seeded random init if asked for.

    A random init ("random", "random_spatial") is only for building a new model: torch draws other numbers on
    other CPUs, so a base that must be found again (to load a partial checkpoint) has to be a model folder.
    """
    if config.init_weights in ("random", "random_spatial"):
        spatial = config.init_weights == "random_spatial"
        kosmos_cfg = kosmos_config(config.model_path)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            kosmos = Kosmos2Model(spatial_text_config(kosmos_cfg) if spatial else kosmos_cfg)
        if spatial:
            apply_spatial_init(kosmos, config.seed)
        return kosmos
    return load_pretrained_kosmos(config.model_path)


def load_pretrained_kosmos(model_path: str) -> Kosmos2Model:
    """Kosmos-2 with every weight read from `model_path` (hub id or folder); a weight the files lack is an error."""
    resolved = resolve_model_path(model_path)
    try:
        # fp32 whatever the file holds: trained tensors need fp32, and precision.cast_frozen lowers the rest.
        kosmos, info = Kosmos2Model.from_pretrained(resolved, output_loading_info=True)
    except OSError as err:
        raise ConfigError(
            f"model_path: cannot load Kosmos-2 weights from {model_path!r} ({err}); give a local folder "
            "with the downloaded model (config.json, model.safetensors, tokenizer)"
        ) from None
    missing = sorted(info.get("missing_keys") or [])
    if missing:
        raise ConfigError(
            f"model_path: {resolved} lacks {len(missing)} of Kosmos-2's weights (e.g. {missing[:3]}); "
            "they would start random"
        )
    return kosmos.float()


def empty_kosmos(kosmos_cfg: Kosmos2Config) -> Kosmos2Model:
    """Kosmos-2's architecture with no weight drawn or read, for a checkpoint that holds every weight itself."""
    with torch.random.fork_rng(devices=[]), no_init_weights():  # fork: transformers' own torch.randn leaves no trace
        return Kosmos2Model(kosmos_cfg)


def write_model_folder(config: ModelConfig, folder: str | Path) -> Path:
    """Draw the base `config` asks for and write it as a model folder (config, model.safetensors, tokenizer).

    This is how a random init becomes a base that loads the same everywhere: from then on it is read from the
    folder (model_path = the folder, init_weights "pretrained"), never drawn again.
    """
    folder = Path(folder)
    kosmos, tokenizer = build_kosmos(config), load_tokenizer(config)
    kosmos.save_pretrained(str(folder))
    if Path(resolve_model_path(config.model_path)).resolve() != folder.resolve():
        tokenizer.save_pretrained(str(folder))
    return folder


def load_tokenizer(config: ModelConfig) -> Any:
    """The tokenizer that ships with the model folder (or the hub id), with Kosmos-2's <image> markers."""
    try:
        tokenizer = AutoTokenizer.from_pretrained(resolve_model_path(config.model_path))
    except OSError as err:
        raise ConfigError(f"model_path: cannot load a tokenizer from {config.model_path!r} ({err})") from None
    for token in (IMAGE_START, IMAGE_END):
        if tokenizer.convert_tokens_to_ids(token) in (None, tokenizer.unk_token_id):
            raise ConfigError(f"model_path: the tokenizer of {config.model_path!r} has no {token} token")
    return tokenizer


def weights_fingerprint(module: nn.Module) -> str:
    """A short hash of the first values of every parameter: tells whether two bases hold the same weights."""
    digest = hashlib.sha256()
    for name, param in sorted(module.named_parameters()):
        digest.update(name.encode())
        digest.update(param.detach().flatten()[:64].to(torch.float32).cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


class KosmosBackbone(nn.Module):
    """Kosmos-2 plus the learnable [LRN] embedding; maps (frames, instructions) to one feature per frame."""

    def __init__(self, kosmos: Kosmos2Model, tokenizer: Any | None, prompt: Prompt = Prompt()) -> None:
        super().__init__()
        self.prompt = prompt
        self.image_start: int = image_start_index(prompt.layout, tokenizer)
        self.kosmos = kosmos
        text_config = kosmos.config.text_config
        self.feature_dim: int = text_config.embed_dim
        self.num_image_tokens: int = kosmos.config.latent_query_num
        self.image_size: int = kosmos.config.vision_config.image_size
        self.lrn = nn.Parameter(torch.empty(self.feature_dim))
        nn.init.normal_(self.lrn, std=text_config.init_std)  # an init function, so loading can skip it
        self.tokenizer = tokenizer

    def image_tokens(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """(N, 3, S, S) normalized pixels -> (N, 64, D) image tokens (vision model, then projection)."""
        vision_out = self.kosmos.vision_model(pixel_values=pixel_values, return_dict=True)
        patches = self.kosmos.vision_model.model.post_layernorm(vision_out.last_hidden_state)
        patches = nn.functional.normalize(patches, dim=-1)
        tokens, _ = self.kosmos.image_to_text_projection(patches)
        return tokens

    def forward(self, pixel_values: torch.Tensor, instructions: Sequence[str]) -> torch.Tensor:
        """(N, 3, S, S) frames and N instructions -> (N, D) features at [LRN]."""
        if pixel_values.ndim != 4 or pixel_values.shape[0] != len(instructions):
            raise ValueError(
                f"expected pixel_values (N, 3, H, W) and N instructions, got {tuple(pixel_values.shape)} and "
                f"{len(instructions)} instructions"
            )
        if self.tokenizer is None:
            raise ValueError("this backbone was built without a tokenizer (meta device); it cannot encode text")
        rows = token_rows(self.tokenizer, self.prompt, self.num_image_tokens, instructions)
        device = pixel_values.device
        return self.forward_from_ids(pixel_values, torch.from_numpy(rows.input_ids).to(device),
                                     torch.from_numpy(rows.lrn_index).to(device), torch.from_numpy(rows.kept).to(device))

    def cover_positions(self, last_position_id: int) -> None:
        """Grow Kosmos-2's sinusoidal position table to hold `last_position_id`, as it grows it itself for a long
        row (a kept row is shorter than its last position)."""
        table = self.kosmos.text_model.model.embed_positions
        if last_position_id >= table.weights.shape[0]:
            table.make_weights(last_position_id + 1, table.embedding_dim, table.padding_idx)

    def forward_from_ids(self, pixel_values: torch.Tensor, input_ids: torch.Tensor, lrn_index: torch.Tensor,
                         kept: torch.Tensor) -> torch.Tensor:
        """Frames, (N, L) ids laid out by token_rows, (N,) [LRN] positions, (N, K) the positions [LRN] attends
        (`TokenRows.kept`) -> (N, D) features.

        The image tokens replace the ids at positions image_start..image_start + 63, [LRN]'s embedding the id at
        its position; the text model then runs on the kept positions only, each at its own position id, so the
        masked ones cost nothing and [LRN] sees what it sees in the whole row. Written with cumsum/gather rather
        than Python indexing so that it exports to ONNX as it is.
        """
        images = self.image_tokens(pixel_values)
        words = self.kosmos.get_input_embeddings()(input_ids)
        start, end = self.image_start, self.image_start + self.num_image_tokens
        embeds = torch.cat([words[:, :start], images.to(words.dtype), words[:, end:]], dim=1)
        positions = torch.cumsum(torch.ones_like(input_ids), dim=1) - 1
        is_lrn = (positions == lrn_index[:, None]).unsqueeze(-1)
        embeds = torch.where(is_lrn, self.lrn.to(embeds.dtype), embeds)
        embeds = embeds.gather(1, kept[..., None].expand(-1, -1, embeds.shape[-1]))
        # Kosmos-2 numbers a row's positions from padding_idx + 1 (what it does itself for inputs_embeds).
        position_ids = kept + self.kosmos.text_model.model.embed_positions.padding_idx + 1
        self.cover_positions(int(position_ids.max()))
        hidden = self.kosmos.text_model(inputs_embeds=embeds, position_ids=position_ids, use_cache=False,
                                        return_dict=True).last_hidden_state
        lrn_slot = (kept < lrn_index[:, None]).sum(dim=1)  # [LRN]'s place among the kept positions
        index = lrn_slot[:, None, None].expand(-1, 1, hidden.shape[-1])
        return hidden.gather(1, index).squeeze(1)
