import pytest
import torch

from terrasynth.models.detector import ChangeDetector, change_loss


@pytest.mark.slow
def test_a_tiny_detector_overfits_a_few_synthetic_pairs(change_pairs):
    torch.manual_seed(0)
    pairs = change_pairs(count=2, size=32)
    images = torch.stack([s["image"] for s in pairs])
    masks = torch.stack([s["mask"] for s in pairs])
    model = ChangeDetector(encoder="resnet18", decoder_channels=16)
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(100):
        optimiser.zero_grad()
        loss = change_loss(model(images)["change"], masks)
        loss.backward()
        optimiser.step()
    model.eval()
    with torch.no_grad():
        predicted = model(images)["change"][:, 0] > 0
    truth = masks.bool()
    iou = (predicted & truth).sum() / (predicted | truth).sum()
    # After 100 steps the loss is about 0.06 and the IoU 0.96 with AVX-512 or AVX2 kernels; after 40
    # (0.27, and an IoU of 0.86 or 0.82 by the kernels) rounding alone came within 0.02 of the bar.
    assert loss.item() < 0.2 and iou > 0.85
