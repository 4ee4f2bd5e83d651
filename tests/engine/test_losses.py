import pytest
import torch

from napari_noise2inpaint.engine.losses import masked_loss


@pytest.mark.parametrize("kind", ["mse", "l1l2"])
def test_an_empty_loss_set_gives_zero_and_zero_gradients_not_nan(kind):
    prediction = torch.ones(2, 1, 4, 4, requires_grad=True)
    loss = masked_loss(
        prediction, torch.zeros(2, 1, 4, 4), torch.zeros(2, 1, 4, 4, dtype=bool), kind
    )
    loss.backward()
    assert float(loss.detach()) == 0 and torch.equal(prediction.grad, torch.zeros_like(prediction))


def test_mse_is_the_mean_over_the_loss_set():
    prediction, target = torch.arange(4.0).reshape(1, 1, 2, 2), torch.zeros(1, 1, 2, 2)
    mask = torch.tensor([[[[True, False], [False, True]]]])
    assert float(masked_loss(prediction, target, mask)) == pytest.approx((0 + 9) / 2)
