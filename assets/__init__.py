"""Data files the tool ships: robot descriptions and configs, the small Kosmos-2 config and tokenizer, samples."""
from pathlib import Path

ASSETS_DIR: Path = Path(__file__).resolve().parent
ROBOTS_DIR: Path = ASSETS_DIR / "robots"
DEFAULT_ROBOT_CONFIG: Path = ROBOTS_DIR / "default.yaml"
