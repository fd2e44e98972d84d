import torch

from terrasynth.models.diffusion import epsilon_loss
from terrasynth.models.metaearth import build_denoiser


def test_tiny_preset_overfits_one_batch_on_the_cpu_in_seconds(learn_by_heart):
    torch.manual_seed(0)
    model = build_denoiser("tiny", channels=4, gsd=4.0, condition_gsd=16.0)
    g = torch.Generator().manual_seed(0)
    image = torch.rand(2, 4, 8, 8, generator=g) * 2 - 1
    low = torch.nn.functional.avg_pool2d(image, 4)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)

    def loss():  # the same timesteps and noise every time: one fixed batch to learn by heart
        return epsilon_loss(
            model, image, model.schedule, generator=torch.Generator().manual_seed(1),
            gsd=4.0, condition=low, condition_gsd=16.0,
        )  # fmt: skip

    first, last = learn_by_heart(loss, optimizer, 30)
    assert last < first / 20
