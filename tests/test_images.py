"""Tests for gmmlib.images: pixels to features and back."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from gmmlib import images


@pytest.fixture
def image():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(4, 6, 3), dtype=np.uint8)


def test_colour_features_row_major_and_scaled(image):
    pixels = images.colour_features(image)
    assert pixels.shape == (24, 3)
    np.testing.assert_allclose(pixels[7], image[1, 1] / 255.0)
    assert pixels.min() >= 0 and pixels.max() <= 1


def test_round_trip(image):
    pixels = images.colour_features(image)
    back = images.features_to_image(pixels, image.shape[:2])
    np.testing.assert_allclose(back * 255.0, image)


def test_colour_position_features(image):
    feats = images.colour_position_features(image, position_weight=2.0)
    assert feats.shape == (24, 5)
    # pixel (3, 5) is row 23; scale = 2 / max(4, 6)
    np.testing.assert_allclose(feats[23, 3:], [3 * 2 / 6, 5 * 2 / 6])
    np.testing.assert_allclose(feats[:, :3], images.colour_features(image))


def test_downsample(image):
    small = images.downsample(image, 2)
    assert small.shape == (2, 3, 3)
    np.testing.assert_array_equal(small[1, 2], image[2, 4])


def test_quantise_uses_palette():
    pixels = np.array([[0.1, 0.1, 0.1], [0.9, 0.9, 0.9]])
    palette = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    out = images.quantise(pixels, np.array([0, 1]), palette)
    np.testing.assert_array_equal(out, palette)


def test_show_pixels_returns_image(image):
    fig, ax = plt.subplots()
    drawn = images.show_pixels(images.colour_features(image), image.shape[:2], ax)
    assert drawn.get_array().shape == image.shape
    plt.close(fig)


@pytest.mark.parametrize(
    "call",
    [
        lambda: images.colour_features(np.zeros((4, 4))),
        lambda: images.colour_features(np.full((2, 2, 3), 2.0)),
        lambda: images.downsample(np.zeros((4, 4, 3)), 0),
        lambda: images.colour_position_features(np.zeros((2, 2, 3)), -1.0),
        lambda: images.features_to_image(np.zeros(5), (2, 3)),
        lambda: images.quantise(np.zeros((2, 3)), np.array([0, 2]), np.zeros((2, 3))),
    ],
)
def test_bad_input_raises(call):
    with pytest.raises(ValueError):
        call()


def test_sixteen_bit_images_scale_to_one():
    """uint16 pixels were divided by 255, giving values up to 257 (issue 21)."""
    image = np.full((2, 2, 3), 65535, dtype=np.uint16)
    assert images.colour_features(image).max() == 1.0
    with pytest.raises(ValueError, match="8-bit values"):
        images.colour_features(np.full((2, 2, 3), 300, dtype=np.int64))


def test_quantise_refuses_labels_that_are_not_indices():
    pixels = np.zeros((4, 3))
    with pytest.raises(ValueError, match="integer component indices"):
        images.quantise(pixels, np.array([0.0, 1.0, 0.0, 1.0]), np.zeros((2, 3)))
