"""A random init for a Kosmos-2 with no pretrained weights whose image tokens keep the frame's layout.

With the stock init, Kosmos-2's image-to-text projection attends almost uniformly (its 64 latent queries dominate
the keys), so the image tokens are nearly the same for every frame and training cannot start from them. Here half
of every patch vector carries the camera image and half a code of where the patch is; latent query i matches the
code of region i of the patch grid, so image token i pools that region. The ViT's residual branches start small
so the layout survives it, and the text model is drawn at std 1/sqrt(width) so words are not drowned by its
sinusoidal positions. Everything stays trainable; only the starting point changes.
"""
from __future__ import annotations

import math

import torch
from transformers import Kosmos2Config, Kosmos2Model

from vla_model.model.config import ConfigError

CODE_NORM = 2.7        # norm of a patch's position code: about that of its image half for normalized pixels
QUERY_SCALE = 0.35     # a latent query's code is shorter than a patch's, so it attends to its region, not itself
SHARPNESS = 20.0       # scale of the projection's query/key maps: attention to the matching region dominates
RESIDUAL_SCALE = 0.1   # ViT attention and MLP outputs start this small


def spatial_text_config(config: Kosmos2Config) -> Kosmos2Config:
    """A copy of `config` whose text model is initialized at std 1/sqrt(embed_dim)."""
    copy = Kosmos2Config.from_dict(config.to_dict())
    copy.text_config.init_std = copy.text_config.embed_dim ** -0.5
    return copy


def _grid_codes(quarter: int, side: int, generator: torch.Generator) -> torch.Tensor:
    """(side, side, 2 * quarter) codes: orthonormal row code + orthonormal column code, over sqrt(2)."""
    rows = torch.linalg.qr(torch.randn(quarter, quarter, generator=generator))[0][:side]
    cols = torch.linalg.qr(torch.randn(quarter, quarter, generator=generator))[0][:side]
    grid = torch.cat([rows[:, None].expand(side, side, quarter), cols[None].expand(side, side, quarter)], -1)
    return grid / math.sqrt(2)


@torch.no_grad()
def apply_spatial_init(kosmos: Kosmos2Model, seed: int) -> None:
    """Re-initialize the patch embedding, the projection and the ViT residual branches in place (see the module)."""
    vision, width = kosmos.config.vision_config, kosmos.config.text_config.embed_dim
    grid = vision.image_size // vision.patch_size
    side = math.isqrt(kosmos.config.latent_query_num)
    half = width // 2
    if vision.hidden_size != width or width % 4 or side * side != kosmos.config.latent_query_num \
            or grid % side or side > width // 4:
        raise ConfigError(
            "init_weights 'random_spatial' needs equal vision and text widths divisible by 4, a square number of "
            f"latent queries and a patch grid they divide (got widths {vision.hidden_size}/{width}, "
            f"{kosmos.config.latent_query_num} queries, a {grid}x{grid} grid)"
        )
    codes = _grid_codes(width // 4, side, torch.Generator().manual_seed(seed))
    position = slice(half, width)

    embeddings = kosmos.vision_model.model.embeddings
    embeddings.patch_embedding.weight[position] = 0.0
    embeddings.class_embedding[position] = 0.0
    patch_rows = torch.arange(grid * grid)
    region = codes[(patch_rows // grid) * side // grid, (patch_rows % grid) * side // grid]
    embeddings.position_embedding.weight[:, position] = 0.0
    embeddings.position_embedding.weight[1:, position] = CODE_NORM * region
    for layer in kosmos.vision_model.model.encoder.layers:
        layer.self_attn.out_proj.weight.mul_(RESIDUAL_SCALE)
        layer.mlp.fc2.weight.mul_(RESIDUAL_SCALE)

    projection = kosmos.image_to_text_projection
    eye = torch.eye(width)
    projection.dense.weight.copy_(eye)
    projection.dense.bias.zero_()
    projection.latent_query.zero_()
    projection.latent_query[:, position] = QUERY_SCALE * codes.reshape(side * side, half)
    attention = projection.x_attn
    for linear in (attention.q_proj, attention.k_proj):  # every head compares position codes only
        linear.weight.zero_()
        linear.bias.zero_()
        linear.weight[:half, position] = SHARPNESS * torch.eye(half)
        linear.weight[half:, position] = SHARPNESS * torch.eye(half)
    for linear in (attention.v_proj, attention.out_proj):
        linear.weight.copy_(eye)
        linear.bias.zero_()
