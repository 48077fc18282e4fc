"""The real camera's response, fitted to the recordings against the twin's render: each recording's exposure and
white balance (one gain per channel) and the falloff to the frame's corners (1 + k1 r^2 + k2 r^4).

In the camera's output (8-bit) space an exposure, a white balance and a falloff all act as gains, whatever tone
curve the camera applies after them, so this model is exact for them; a tone curve itself is not identifiable
from frames of one room, and the skins keep it as the camera applied it.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from envs.twin.response import vignetting_gain
from eval.twin.geometry import PlacedSolid
from eval.twin.render import TwinModel, render

ROUNDS = 4
TRIM = 3.0  # residuals beyond this many median absolute deviations are left out of the next round


def fit_response(model: TwinModel, views: Sequence[tuple[np.ndarray, np.ndarray, list[PlacedSolid], int]],
                 recordings: int, fit_falloff: bool = True) -> tuple[tuple[float, float], np.ndarray]:
    """((k1, k2), (recordings, 3) gains) from (small frame, pose, solids, recording index) views. Building, the
    gains' geometric mean is 1 per channel (the skins stay at the mean exposure); with `fit_falloff` off (new
    recordings in a finished twin) the falloff stays and the gains are against the twin's skins as they are."""
    falloff_before = model.vignetting
    model.vignetting = (0.0, 0.0)
    samples = []
    for frame, pose, solids, index in views:
        height, width = frame.shape[:2]
        drawn, covered, _ = render(model, pose, solids, (width, height))
        radius2 = vignetting_gain(height, width, 1.0, 0.0) - 1.0
        keep = covered & (drawn.min(axis=2) > 8.0)
        samples.append((frame[keep].astype(np.float64), drawn[keep].astype(np.float64), radius2[keep], index))
    model.vignetting = falloff_before
    k = np.asarray(falloff_before if not fit_falloff else (0.0, 0.0), np.float64)
    gains = np.ones((recordings, 3))
    keep_masks = [np.ones(len(s[2]), bool) for s in samples]
    for round_index in range(ROUNDS):
        falloffs = [1.0 + k[0] * r2 + k[1] * r2 ** 2 for _, _, r2, _ in samples]
        numerator, denominator = np.zeros((recordings, 3)), np.zeros((recordings, 3))
        for (seen, drawn, _, index), falloff, keep in zip(samples, falloffs, keep_masks):
            model_value = drawn[keep] * falloff[keep, None]
            numerator[index] += (seen[keep] * model_value).sum(axis=0)
            denominator[index] += (model_value ** 2).sum(axis=0)
        gains = np.where(denominator > 0, numerator / np.maximum(denominator, 1e-9), 1.0)
        rows, targets, residuals = [], [], []
        for (seen, drawn, r2, index), keep in zip(samples, keep_masks):
            scaled = drawn * gains[index]
            rows.append(np.stack([(scaled * r2[:, None])[keep].reshape(-1), (scaled * r2[:, None] ** 2)[keep].reshape(-1)],
                                 axis=1))
            targets.append((seen - scaled)[keep].reshape(-1))
        design, target = np.concatenate(rows), np.concatenate(targets)
        if fit_falloff:
            k = np.linalg.lstsq(design, target, rcond=None)[0]
        if round_index < ROUNDS - 1:  # trim the misfits (objects, shadows, misplaced texels) for the next round
            for i, (seen, drawn, r2, index) in enumerate(samples):
                predicted = drawn * gains[index] * (1.0 + k[0] * r2 + k[1] * r2 ** 2)[:, None]
                residual = np.abs(seen - predicted).mean(axis=1)
                residuals.append(residual)
                scale = np.median(residual) * 1.4826 + 1e-6
                keep_masks[i] = residual < TRIM * scale + 4.0
    if not fit_falloff:
        return (float(k[0]), float(k[1])), gains
    observed = np.array([i for *_, i in views])
    seen_recordings = np.isin(np.arange(recordings), observed)
    mean = np.exp(np.log(gains[seen_recordings]).mean(axis=0))
    return (float(k[0]), float(k[1])), gains / mean
