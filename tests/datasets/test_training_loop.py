import torch
from torch.utils.data import DataLoader
from torchgeo.datasets import stack_samples

from terrasynth.datasets import CascadePairs, random_sampler
from terrasynth.models.metaearth import resample_onto


def test_a_few_training_steps_through_workers_and_torchgeo_samplers(synthetic_corpus):
    """A small super-resolution net learns 60 m -> 16 m from a synthetic-world corpus through a DataLoader."""
    torch.manual_seed(0)
    dataset = CascadePairs(synthetic_corpus, "16m", min_valid_fraction=0.3)
    sampler = random_sampler(dataset, 32, length=12, seed=0)
    loader = DataLoader(dataset, batch_size=4, sampler=sampler, num_workers=2, collate_fn=stack_samples)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(4, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(8, 4, 3, padding=1)
    )
    before = [p.detach().clone() for p in net.parameters()]
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for batch in loader:
        assert batch["image"].shape == (4, 4, 32, 32) and batch["condition"].shape == (4, 4, 18, 18)
        assert batch["condition_gsd"].shape == (4,) and len(batch["crs"]) == 4
        upsampled = resample_onto(batch["condition"], batch["condition_box"], batch["image"].shape[-2:])
        error = (net(upsampled) + upsampled - batch["image"]).abs().mean(dim=1)
        loss = error[batch["valid"]].mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert len(losses) == 3 and all(torch.isfinite(torch.tensor(losses)))
    assert any(not torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))
