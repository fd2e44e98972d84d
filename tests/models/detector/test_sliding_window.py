import pytest
import torch

from terrasynth.models.detector import ChangeDetector, sliding_window_predict, window_starts


class PerPixel(torch.nn.Module):
    """A detector stand-in whose output at a pixel depends on that pixel only."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.change = torch.nn.Conv2d(6, 1, 1)
        self.semantic = torch.nn.Conv2d(3, 4, 1)

    def forward(self, images):
        b, t = images.shape[:2]
        semantic = self.semantic(images.flatten(0, 1)).unflatten(0, (b, t))
        return {"change": self.change(images.flatten(1, 2)), "semantic": semantic}


def test_window_starts():
    assert window_starts(100, 40, 30) == [0, 30, 60]
    assert window_starts(100, 50, 50) == [0, 50]
    assert window_starts(30, 40, 30) == [0]


@pytest.mark.parametrize(("window", "overlap"), [(32, 0.0), (40, 0.5), (24, 0.25)])
def test_blending_windows_of_a_per_pixel_model_equals_the_whole_image(window, overlap):
    model = PerPixel()
    images = torch.rand(2, 2, 3, 64, 96)
    whole = model(images)
    windowed = sliding_window_predict(model, images, window=window, overlap=overlap, batch_size=3)
    for name in whole:
        assert windowed[name].shape == whole[name].shape
        assert torch.allclose(windowed[name], whole[name], atol=1e-5)


def test_a_window_covering_the_image_is_whole_image_inference():
    torch.manual_seed(0)
    detector = ChangeDetector(encoder="resnet18", decoder_channels=8).eval()
    images = torch.rand(1, 2, 3, 64, 64)
    with torch.no_grad():
        whole = detector(images)["change"]
    windowed = sliding_window_predict(detector, images, window=64)["change"]
    assert torch.allclose(windowed, whole, atol=1e-6)
    tiled = sliding_window_predict(detector, images, window=32, overlap=0.5)["change"]
    assert tiled.shape == whole.shape and not torch.allclose(tiled, whole, atol=1e-3)
