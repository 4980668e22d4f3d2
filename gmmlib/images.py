r"""Images as feature matrices and back, for mixtures fitted on pixels.

An RGB image of shape ``(h, w, 3)`` becomes an ``(h*w, d)`` matrix with one row per
pixel, in row-major order (row by row, left to right), so row :math:`i` is pixel
``(i // w, i % w)``. Colour features are the channels scaled to :math:`[0, 1]`;
colour-plus-position features append the pixel's row and column, each divided by
``max(h, w)`` and multiplied by ``position_weight``, so position weighs against colour
by a single, stated factor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ._validation import is_integer

if TYPE_CHECKING:  # pragma: no cover - matplotlib is needed only to draw
    from matplotlib.axes import Axes
    from matplotlib.image import AxesImage


def _check_image(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(
            f"image must have shape (height, width, 3), got {image.shape}; "
            "pass an RGB array such as sklearn.datasets.load_sample_image('china.jpg')."
        )
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError("image is empty; pass at least one pixel.")
    return image


def downsample(image: np.ndarray, step: int) -> np.ndarray:
    """Keep every ``step``-th pixel along rows and columns: ``image[::step, ::step]``."""
    image = _check_image(image)
    if not is_integer(step) or step < 1:
        raise ValueError(f"step must be a positive integer, got {step!r}.")
    return image[::step, ::step]


def colour_features(image: np.ndarray) -> np.ndarray:
    """Pixels as rows of RGB values in ``[0, 1]``: shape ``(h*w, 3)``, row-major order.

    ``uint8`` and ``uint16`` images are divided by their type's largest value (255 and
    65535); other integer images must hold 8-bit values (0 to 255) and are divided by 255;
    float images must already lie in ``[0, 1]``.
    """
    image = _check_image(image)
    if np.issubdtype(image.dtype, np.integer):
        if image.dtype in (np.uint8, np.uint16):
            largest = float(np.iinfo(image.dtype).max)
        elif image.min() < 0 or image.max() > 255:
            raise ValueError(
                f"an integer image of type {image.dtype} must hold 8-bit values (0 to 255); "
                "store 16-bit images as uint16, or pass floats in [0, 1]."
            )
        else:
            largest = 255.0
        pixels = image.reshape(-1, 3).astype(np.float64) / largest
    else:
        pixels = image.reshape(-1, 3).astype(np.float64)
        if not np.all(np.isfinite(pixels)) or pixels.min() < 0 or pixels.max() > 1:
            raise ValueError(
                "a float image must hold finite values in [0, 1]; divide 8-bit values by 255 first."
            )
    return pixels


def colour_position_features(image: np.ndarray, position_weight: float = 1.0) -> np.ndarray:
    r"""Colour plus position: rows ``(r, g, b, w_p\,y/s, w_p\,x/s)``, ``s = max(h, w)``.

    ``y`` is the pixel's row and ``x`` its column; with ``position_weight`` :math:`w_p`
    the position coordinates span :math:`[0, w_p]` along the longer side.
    """
    image = _check_image(image)
    weight = float(position_weight)
    if not np.isfinite(weight) or weight < 0:
        raise ValueError(f"position_weight must be finite and >= 0, got {position_weight!r}.")
    h, w = image.shape[:2]
    rows, cols = np.indices((h, w))
    scale = weight / max(h, w)
    position = np.column_stack([rows.ravel() * scale, cols.ravel() * scale])
    return np.hstack([colour_features(image), position])


def features_to_image(values: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Inverse of the row-major flattening: ``(h*w,)`` or ``(h*w, c)`` to ``(h, w[, c])``."""
    values = np.asarray(values)
    h, w = (int(s) for s in shape)
    if values.ndim not in (1, 2) or values.shape[0] != h * w:
        raise ValueError(
            f"values must have h*w = {h * w} rows for shape {(h, w)}, got shape {values.shape}."
        )
    return values.reshape((h, w) + values.shape[1:])


def quantise(pixels: np.ndarray, labels: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Replace each pixel by its label's palette colour: ``palette[labels]``.

    Returns the quantised pixels (same shape as ``pixels``); the mean squared error against
    ``pixels`` is then ``np.mean((pixels - result) ** 2)``.
    """
    pixels = np.asarray(pixels, dtype=np.float64)
    labels = np.asarray(labels)
    palette = np.asarray(palette, dtype=np.float64)
    if labels.shape != (pixels.shape[0],):
        raise ValueError(f"labels must have shape ({pixels.shape[0]},), got {labels.shape}.")
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"labels must be integer component indices (e.g. model.predict(pixels)); got dtype "
            f"{labels.dtype}."
        )
    if palette.ndim != 2 or palette.shape[1] != pixels.shape[1]:
        raise ValueError(f"palette must have shape (K, {pixels.shape[1]}), got {palette.shape}.")
    if labels.size and (labels.min() < 0 or labels.max() >= palette.shape[0]):
        raise ValueError(f"labels must lie in [0, {palette.shape[0] - 1}].")
    return palette[labels]


def show_pixels(
    values: np.ndarray, shape: tuple[int, int], ax: Axes, **imshow_kwargs: Any
) -> AxesImage:
    """Draw per-pixel ``values`` (colours or scalars) as an image on ``ax``; return the image.

    Axis ticks are removed; ``imshow_kwargs`` (e.g. ``cmap``, ``vmin``) go to ``imshow``.
    """
    picture = features_to_image(values, shape)
    drawn = ax.imshow(picture, **imshow_kwargs)
    ax.set_xticks([])
    ax.set_yticks([])
    return drawn
