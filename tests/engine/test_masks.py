import numpy as np
import pytest
import torch

from napari_noise2inpaint.engine.masks import neighbour_values, random_lambda, random_partition
from napari_noise2inpaint.engine.sampling import PatchSampler


@pytest.mark.parametrize("rho", [0.05, 0.1, 0.2, 0.25, 0.5])
def test_partition_sets_are_disjoint_cover_the_image_and_have_rho_m_pixels(rho, rng):
    shape = (37, 31)
    n_sets = round(1 / rho)
    labels = random_partition(shape, n_sets, rng)
    counts = torch.bincount(labels.flatten().long(), minlength=n_sets)
    assert labels.shape == shape
    assert int(counts.sum()) == 37 * 31  # every pixel in exactly one set: disjoint and covering
    assert len(counts) == n_sets
    assert (counts - rho * 37 * 31).abs().max() <= 1


def test_partition_is_random_but_reproducible():
    a = random_partition((20, 20), 20, torch.Generator().manual_seed(1))
    b = random_partition((20, 20), 20, torch.Generator().manual_seed(1))
    c = random_partition((20, 20), 20, torch.Generator().manual_seed(2))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_sampler_cycles_through_all_sets_of_a_partition(rng):
    """Patches covering a whole plane: L consecutive loss sets partition the plane."""
    side, n_sets = 16, 4
    plane = torch.arange(side * side, dtype=torch.float32).reshape(side, side)
    sampler = PatchSampler([plane], side, n_sets, rng)
    seen = []
    for _ in range(n_sets):
        batch = sampler.sample(1)
        # values are unique pixel ids, so flips and rotations can be undone by value
        seen.append(batch.noisy[batch.loss_set].long())
    ids = torch.cat(seen)
    assert len(ids) == side * side
    assert torch.equal(ids.sort().values, torch.arange(side * side))


def test_sampler_patches_carry_their_part_of_the_plane(rng):
    planes = [torch.arange(40 * 50, dtype=torch.float32).reshape(40, 50)]
    batch = PatchSampler(planes, 8, 5, rng).sample(6)
    assert batch.noisy.shape == (6, 1, 8, 8)
    assert batch.loss_set.shape == (6, 1, 8, 8)
    for patch in batch.noisy[:, 0]:
        rows = torch.unique(patch // 50)
        assert len(rows) == 8  # a contiguous 8x8 crop (possibly rotated or flipped)


def test_random_lambda_picks_rho_m_pixels_per_item(rng):
    mask = random_lambda((3, 1, 20, 30), 0.1, rng)
    assert mask.sum(dim=(-1, -2)).flatten().tolist() == [60, 60, 60]


def test_neighbour_values_come_from_the_5x5_window_and_never_the_pixel_itself(rng):
    side = 12
    image = torch.arange(side * side, dtype=torch.float32).reshape(1, 1, side, side)
    filled = neighbour_values(image, rng)
    src_row, src_col = filled // side, filled % side
    rows = torch.arange(side).view(1, 1, side, 1)
    cols = torch.arange(side).view(1, 1, 1, side)
    assert not torch.any(filled == image)
    # reflection at the border keeps the source inside the image, within 2 pixels
    assert torch.all((src_row - rows).abs() <= 2)
    assert torch.all((src_col - cols).abs() <= 2)
    assert np.unique(filled.numpy()).size > side * side // 4


def test_partition_holds_more_than_256_sets(rng):
    labels = random_partition((30, 30), 300, rng)
    counts = torch.bincount(labels.flatten().long())
    assert len(counts) == 300 and set(counts.tolist()) == {3}
