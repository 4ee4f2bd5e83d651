import pytest
import torch

from napari_noise2inpaint import Noise2InpaintConfig
from napari_noise2inpaint.engine.network import Denoiser
from napari_noise2inpaint.engine.unet import (
    NORMS,
    UNet,
    fold_batch_norms,
    init_weights,
    memory_format,
    upsample_beside,
)
from napari_noise2inpaint.noise import data_consistency


def test_data_consistency_solves_the_least_squares_problem_of_eq_10a(rng):
    shape = (5, 7)
    y = torch.randn(shape, generator=rng, dtype=torch.float64)
    z = torch.randn(shape, generator=rng, dtype=torch.float64)
    theta = torch.rand(shape, generator=rng) > 0.3
    mu = torch.tensor(0.7, dtype=torch.float64)
    # argmin_x ||P_theta (y - x)||^2 + mu ||x - z||^2 as a stacked least-squares system
    m = y.numel()
    sampling = torch.eye(m, dtype=torch.float64)[theta.flatten()]
    system = torch.cat([sampling, mu.sqrt() * torch.eye(m, dtype=torch.float64)])
    rhs = torch.cat([sampling @ y.flatten(), mu.sqrt() * z.flatten()])
    solution = torch.linalg.lstsq(system, rhs[:, None]).solution.reshape(shape)
    assert torch.allclose(data_consistency(y, z, theta, mu), solution, atol=1e-10)
    assert torch.allclose(data_consistency(y, z, None, mu), (y + mu * z) / (1 + mu))


@pytest.mark.parametrize("method", ["n2i", "n2v"])
def test_output_shape_equals_input_shape_for_odd_sizes(method, rng):
    config = Noise2InpaintConfig(method=method, features=4, unrolls=2)
    net = Denoiser(config, rng).eval()
    y = torch.randn(2, 1, 37, 31, generator=rng)
    x, z = net(y)
    assert x.shape == z.shape == y.shape


def test_unet_starts_as_identity_and_learns_away_from_it(rng):
    net = UNet(features=4)
    init_weights(net, rng)
    y = torch.randn(1, 1, 16, 16, generator=rng)
    assert torch.equal(net(y), y)


def test_mu_is_positive_and_starts_at_its_configured_value():
    net = Denoiser(Noise2InpaintConfig(mu_init=0.05))
    assert net.mu.item() == pytest.approx(0.05, rel=1e-5)
    net.mu_raw.data.fill_(-50.0)
    assert net.mu.item() > 0


def test_one_regulariser_per_unroll_when_not_shared():
    shared = Denoiser(Noise2InpaintConfig(unrolls=3, features=4))
    separate = Denoiser(Noise2InpaintConfig(unrolls=3, features=4, shared_regularizer=False))
    assert len(shared.regularizers) == 1
    assert len(separate.regularizers) == 3


def test_receptive_radius_bounds_the_influence_of_a_pixel(rng):
    config = Noise2InpaintConfig(features=4, unrolls=2)
    net = Denoiser(config, rng).eval()
    for p in net.parameters():  # make the heads non-zero so every layer matters
        p.data.add_(0.1 * torch.randn(p.shape, generator=rng))
    radius = net.receptive_radius()
    size = 2 * radius + 40
    y = torch.randn(1, 1, size, size, generator=rng)
    bumped = y.clone()
    bumped[..., size // 2, size // 2] += 10.0
    with torch.no_grad():
        changed = (net(bumped)[1] - net(y)[1]).abs()[0, 0] > 0
    rows, cols = torch.nonzero(changed, as_tuple=True)
    assert len(rows) > 0
    assert (rows - size // 2).abs().max() <= radius
    assert (cols - size // 2).abs().max() <= radius


@pytest.mark.parametrize("dims", [2, 3])
def test_folded_batch_norms_give_the_same_output_and_leave_the_network_alone(dims, rng):
    unet = UNet(features=4, depth=2, dims=dims)
    init_weights(unet, rng)
    with torch.no_grad():  # batch statistics and affine parameters away from 0 and 1
        for norm in (m for m in unet.modules() if isinstance(m, NORMS)):
            norm.running_mean.uniform_(-0.5, 0.5, generator=rng)
            norm.running_var.uniform_(0.5, 2.0, generator=rng)
            norm.weight.uniform_(0.5, 1.5, generator=rng)
            norm.bias.uniform_(-0.2, 0.2, generator=rng)
        unet.head.weight.normal_(generator=rng)
    unet.eval()
    image = torch.randn((1, 1) + (12,) * dims, generator=rng)
    folded = fold_batch_norms(unet)
    with torch.no_grad():
        torch.testing.assert_close(folded(image), unet(image), atol=1e-5, rtol=1e-5)
    assert not any(isinstance(m, NORMS) for m in folded.modules())
    assert sum(isinstance(m, NORMS) for m in unet.modules()) == 2 * 5  # two per block


@pytest.mark.parametrize("dims", [2, 3])
@pytest.mark.parametrize("channels_last", [True, False])
def test_upsampling_beside_the_skip_equals_upsample_then_concatenate(dims, channels_last, rng):
    layout = memory_format(dims) if channels_last else torch.contiguous_format
    low = torch.randn(2, 5, *(3, 4, 5)[:dims], generator=rng).contiguous(memory_format=layout)
    skip = torch.randn(2, 3, *(6, 8, 10)[:dims], generator=rng).contiguous(memory_format=layout)
    low.requires_grad_(True)
    weights = torch.randn(2, 8, *(6, 8, 10)[:dims], generator=rng)

    ours = upsample_beside(low, skip)
    (ours * weights).sum().backward()
    our_grad, low.grad = low.grad, None
    usual = torch.cat([torch.nn.functional.interpolate(low, scale_factor=2.0), skip], dim=1)
    (usual * weights).sum().backward()

    assert torch.equal(ours, usual)
    assert ours.is_contiguous(memory_format=layout)
    torch.testing.assert_close(our_grad, low.grad)
