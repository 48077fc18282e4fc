"""The spatial init: image token i pools region i of the frame (drawn here, and in the shipped small base);
configs that cannot take it are refused."""
import numpy as np
import pytest
import torch

from vla_model.model.backbone import KosmosBackbone, build_kosmos
from vla_model.model.config import ConfigError, load_model_config
from vla_model.model.policy import preprocess_frame
from vla_model.model.spatial_init import apply_spatial_init

SHIPPED = load_model_config(None)  # assets/kosmos2_small/, read from its model.safetensors
SPATIAL = SHIPPED.replace(init_weights="random_spatial")


@pytest.fixture(scope="module", params=["drawn", "shipped"])
def kosmos(request):
    return build_kosmos(SPATIAL if request.param == "drawn" else SHIPPED).eval()


def image_tokens(kosmos, frame: np.ndarray) -> torch.Tensor:
    with torch.no_grad():
        return KosmosBackbone(kosmos, tokenizer=None).image_tokens(preprocess_frame(frame)[None])[0]


@pytest.mark.parametrize("row, col", [(0, 0), (3, 5), (7, 2)])
def test_a_blob_changes_the_token_of_its_region_most(kosmos, row: int, col: int) -> None:
    blank = np.full((224, 224, 3), 128, dtype=np.uint8)
    blob = blank.copy()
    blob[row * 28 : (row + 1) * 28, col * 28 : (col + 1) * 28] = (200, 30, 30)
    change = (image_tokens(kosmos, blob) - image_tokens(kosmos, blank)).norm(dim=-1)
    assert int(change.argmax()) == row * 8 + col
    assert change.max() > 5 * change.median()


def test_spatial_init_is_seeded() -> None:
    first, second = build_kosmos(SPATIAL), build_kosmos(SPATIAL)
    for (name, a), b in zip(first.named_parameters(), second.parameters()):
        assert torch.equal(a, b), name


def test_a_backbone_without_a_square_query_grid_is_refused() -> None:
    kosmos = build_kosmos(SHIPPED)
    kosmos.config.latent_query_num = 60
    with pytest.raises(ConfigError, match="square number of latent queries"):
        apply_spatial_init(kosmos, seed=0)
