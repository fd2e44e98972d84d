"""Second-order degradation (Real-ESRGAN, Wang et al. 2021): a high-resolution batch made into its
low-resolution condition by two rounds of blur, resize, noise and JPEG, then a final resize with a
sinc filter, in either order with a last JPEG.

Batched on the CPU or a GPU (the device of the images and of the generator), reproducible from a
:class:`torch.Generator`: every draw comes from it, in a fixed order, whatever branch is taken. The
drawn parameters come back with the images, for provenance. Kernels, noise and JPEG quality are
drawn per image; resize scales, resize modes and the order of the final steps once per batch (the
images of a batch must keep one size), as in Real-ESRGAN.

Real-ESRGAN's noise and JPEG levels assume images that fill [0, 1], and it degrades every batch
anew at every training iteration: :func:`degrade_condition` does both for a batch in a model's
space ([-1, 1], where surface reflectance is stretched per band), for the training loop to call
with a generator keyed by the step.

kornia does the filtering (:func:`kornia.filters.filter2d`) and the JPEG round trip
(:func:`kornia.enhance.jpeg_codec_differentiable`); the kernels are built here because kornia has
no rotated, generalised-Gaussian, plateau or circular-sinc kernels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from kornia.enhance import jpeg_codec_differentiable
from kornia.filters import filter2d

KERNEL_TYPES = (
    "iso",
    "aniso",
    "generalized_iso",
    "generalized_aniso",
    "plateau_iso",
    "plateau_aniso",
    "sinc",
)
"""Blur kernel kinds; the ``*_kernel_type`` parameters index this tuple."""
RESIZE_MODES = ("area", "bilinear", "bicubic")
"""Interpolation modes; the ``*_resize_mode`` parameters index this tuple."""
MAX_KERNEL = 21
"""Every kernel is centred in a 21 x 21 array (pixels)."""


@dataclass(frozen=True)
class BlurSettings:
    """One blur step. Sizes and sigmas in pixels; betas are the generalised/plateau exponents."""

    kernel_sizes: tuple[int, ...] = (7, 9, 11, 13, 15, 17, 19, 21)
    kernel_probs: tuple[float, ...] = (0.45, 0.25, 0.12, 0.03, 0.12, 0.03)
    """Probabilities of the first six :data:`KERNEL_TYPES` (the sinc kernel has its own)."""
    sigma: tuple[float, float] = (0.2, 3.0)
    generalized_beta: tuple[float, float] = (0.5, 4.0)
    plateau_beta: tuple[float, float] = (1.0, 2.0)
    sinc_prob: float = 0.1
    prob: float = 1.0
    """Chance that the step blurs an image at all."""


@dataclass(frozen=True)
class ResizeSettings:
    """One random resize: up, down or keep, with a scale drawn from ``scale`` on that side of 1."""

    probs: tuple[float, float, float] = (0.2, 0.7, 0.1)
    scale: tuple[float, float] = (0.15, 1.5)


@dataclass(frozen=True)
class NoiseSettings:
    """Gaussian noise (sigma in 1/255 units) with ``gaussian_prob``, else Poisson noise."""

    gaussian_prob: float = 0.5
    gaussian_sigma: tuple[float, float] = (1.0, 30.0)
    poisson_scale: tuple[float, float] = (0.05, 3.0)
    gray_prob: float = 0.4
    """Chance that one noise field is shared by all bands."""


@dataclass(frozen=True)
class DegradationSettings:
    """Real-ESRGAN's defaults for both rounds and the final step."""

    blur1: BlurSettings = field(default_factory=BlurSettings)
    resize1: ResizeSettings = field(default_factory=ResizeSettings)
    noise1: NoiseSettings = field(default_factory=NoiseSettings)
    jpeg1: tuple[float, float] = (30.0, 95.0)
    blur2: BlurSettings = field(default_factory=lambda: BlurSettings(sigma=(0.2, 1.5), prob=0.8))
    resize2: ResizeSettings = field(
        default_factory=lambda: ResizeSettings(probs=(0.3, 0.4, 0.3), scale=(0.3, 1.2))
    )
    noise2: NoiseSettings = field(
        default_factory=lambda: NoiseSettings(gaussian_sigma=(1.0, 25.0), poisson_scale=(0.05, 2.5))
    )
    jpeg2: tuple[float, float] = (30.0, 95.0)
    final_sinc_prob: float = 0.8


class SecondOrderDegradation:
    """Degrades a batch of images that fill [0, 1] to a lower resolution, Real-ESRGAN style.

    Example::

        degrade = SecondOrderDegradation()
        generator = torch.Generator(device=images.device).manual_seed(0)
        condition, params = degrade(images, scale=4.0, generator=generator)
    """

    def __init__(self, settings: DegradationSettings | None = None):
        self.settings = settings or DegradationSettings()

    @torch.no_grad()
    def __call__(
        self,
        images: torch.Tensor,
        scale: float,
        *,
        generator: torch.Generator,
        out_size: tuple[int, int] | None = None,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Degrade ``images``.

        Args:
            images: float (B, C, H, W) in [0, 1] (reflectance above 1 is clipped). Three bands
                are JPEG-coded as colour, any other count band by band as grey.
            scale: the resolution ratio, e.g. 4.0, or 3.75 for 16 m -> 60 m.
            generator: the source of every random draw, on the images' device.
            out_size: (h, w) in pixels of the result; default (round(H / scale), round(W / scale)).

        Returns:
            The degraded batch, float (B, C, h, w) in [0, 1] quantised to 1/255 steps, and the drawn
            parameters as tensors: per image (B, ...) or per batch (scalars), named
            ``<step>_<parameter>`` (``blur1_sigma`` in pixels, ``noise1_sigma`` in 1/255 units,
            ``*_kernel_type`` indexing :data:`KERNEL_TYPES`, ``*_resize_mode`` :data:`RESIZE_MODES`,
            ``final_order`` 0 for resize+sinc then JPEG, 1 for JPEG first).
        """
        s = self.settings
        batch, _, height, width = images.shape
        out_h, out_w = out_size or (max(1, round(height / scale)), max(1, round(width / scale)))
        draw = _Draws(generator, batch)
        params: dict[str, torch.Tensor] = {}
        x = images.float().clamp(0, 1)

        x = _blur(x, s.blur1, draw, params, "blur1")
        x = _resize(x, s.resize1, draw, params, "resize1", (height, width))
        x = _noise(x, s.noise1, draw, params, "noise1")
        x = _jpeg(x, s.jpeg1, draw, params, "jpeg1")

        x = _blur(x, s.blur2, draw, params, "blur2")
        x = _resize(x, s.resize2, draw, params, "resize2", (height / scale, width / scale))
        x = _noise(x, s.noise2, draw, params, "noise2")

        jpeg_first = draw.bernoulli(0.5, 1)[0]
        params["final_order"] = jpeg_first.long()
        sinc = _final_sinc(s, draw, params)
        if jpeg_first:
            x = _jpeg(x, s.jpeg2, draw, params, "jpeg2")
            x = _resize_to(x, (out_h, out_w), draw, params, "final")
            x = _filter(x, sinc)
        else:
            x = _resize_to(x, (out_h, out_w), draw, params, "final")
            x = _filter(x, sinc)
            x = _jpeg(x, s.jpeg2, draw, params, "jpeg2")
        x = (x * 255.0).round().clamp(0, 255) / 255.0
        return x, params


def degrade_condition(
    images: torch.Tensor,
    gsd: torch.Tensor,
    condition_gsd: torch.Tensor,
    *,
    generator: torch.Generator,
    degradation: SecondOrderDegradation | None = None,
) -> list[torch.Tensor]:
    """The low-resolution conditions of a batch of images in model space, degraded Real-ESRGAN style.

    Args:
        images: float (B, C, H, W) in a model's space [-1, 1] (mapped onto [0, 1] for the
            degradation, whose noise and JPEG levels assume images that fill it, and back).
        gsd, condition_gsd: (B,) metres per pixel of the images and of their conditions; each
            condition is ``round(H * gsd / condition_gsd)`` pixels high (likewise wide).
        generator: the source of every draw (e.g. keyed by seed, epoch and step: a new
            degradation at every step, the same on a resumed run).
        degradation: default Real-ESRGAN's settings.

    Returns:
        Each sample's condition, (C, h, w) in [-1, 1] (samples of several level pairs make
        conditions of several sizes; each pair is degraded as a batch of its own).
    """
    degradation = degradation or SecondOrderDegradation()
    pairs = torch.stack([gsd, condition_gsd], dim=1).float().cpu()
    out: dict[int, torch.Tensor] = {}
    for pair in torch.unique(pairs, dim=0):
        members = (pairs == pair).all(dim=1).nonzero().flatten()
        scale = float(pair[1] / pair[0])
        size = (max(1, round(images.shape[-2] / scale)), max(1, round(images.shape[-1] / scale)))
        degraded, _ = degradation((images[members] + 1) / 2, scale, generator=generator, out_size=size)
        for index, image in zip(members.tolist(), degraded * 2 - 1, strict=True):
            out[index] = image
    return [out[index] for index in range(len(images))]  # each sample is a member of one pair


class _Draws:
    """Random draws from one generator on its device."""

    def __init__(self, generator: torch.Generator, batch: int):
        self.generator, self.batch, self.device = generator, batch, generator.device

    def uniform(self, bounds: tuple[float, float], n: int | None = None) -> torch.Tensor:
        low, high = bounds
        return low + (high - low) * torch.rand(n or self.batch, generator=self.generator, device=self.device)

    def bernoulli(self, p: float, n: int | None = None) -> torch.Tensor:
        return torch.rand(n or self.batch, generator=self.generator, device=self.device) < p

    def choice(self, probs, n: int | None = None) -> torch.Tensor:
        weights = torch.as_tensor(probs, dtype=torch.float, device=self.device)
        return torch.multinomial(weights, n or self.batch, replacement=True, generator=self.generator)

    def normal(self, shape) -> torch.Tensor:
        return torch.randn(shape, generator=self.generator, device=self.device)

    def poisson(self, rates: torch.Tensor) -> torch.Tensor:
        return torch.poisson(rates, generator=self.generator)


def _grid(device) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel offsets from the kernel centre, x then y, each (21, 21)."""
    axis = torch.arange(MAX_KERNEL, device=device, dtype=torch.float) - MAX_KERNEL // 2
    y, x = torch.meshgrid(axis, axis, indexing="ij")
    return x, y


def _normalised(kernels: torch.Tensor, sizes: torch.Tensor) -> torch.Tensor:
    """Kernels cut to their ``sizes`` (odd, pixels) inside the 21 x 21 array and scaled to sum 1."""
    x, y = _grid(kernels.device)
    half = (sizes // 2).view(-1, 1, 1)
    kernels = kernels * ((x.abs() <= half) & (y.abs() <= half))
    return kernels / kernels.sum(dim=(1, 2), keepdim=True)


def _pulse(batch: int, device) -> torch.Tensor:
    kernels = torch.zeros(batch, MAX_KERNEL, MAX_KERNEL, device=device)
    kernels[:, MAX_KERNEL // 2, MAX_KERNEL // 2] = 1.0
    return kernels


def sinc_kernels(sizes: torch.Tensor, omega: torch.Tensor) -> torch.Tensor:
    """Circular low-pass (2-D sinc) kernels with cut-off ``omega`` (radians per pixel), (B, 21, 21)."""
    x, y = _grid(omega.device)
    radius = torch.sqrt(x**2 + y**2)
    w = omega.view(-1, 1, 1)
    safe = torch.where(radius > 0, radius, torch.ones_like(radius))
    kernels = w * torch.special.bessel_j1(w * safe) / (2 * math.pi * safe)
    kernels = torch.where(radius > 0, kernels, w**2 / (4 * math.pi))
    return _normalised(kernels, sizes)


def mixed_kernels(
    sizes: torch.Tensor,
    types: torch.Tensor,
    sigma: torch.Tensor,
    angle: torch.Tensor,
    beta: torch.Tensor,
) -> torch.Tensor:
    """Gaussian, generalised-Gaussian and plateau kernels, (B, 21, 21).

    With d^2 the squared Mahalanobis distance for the covariance rotated by ``angle`` (radians)
    with standard deviations ``sigma`` (B, 2) pixels: Gaussian exp(-d^2 / 2), generalised
    exp(-(d^2)^beta / 2), plateau 1 / ((d^2)^beta + 1). ``types`` index :data:`KERNEL_TYPES`.
    """
    x, y = _grid(sigma.device)
    cos, sin = angle.cos().view(-1, 1, 1), angle.sin().view(-1, 1, 1)
    u = cos * x + sin * y
    v = -sin * x + cos * y
    d2 = (u / sigma[:, :1, None]) ** 2 + (v / sigma[:, 1:, None]) ** 2
    b = beta.view(-1, 1, 1)
    family = (types // 2).view(-1, 1, 1)
    kernels = torch.where(
        family == 0,
        torch.exp(-0.5 * d2),
        torch.where(family == 1, torch.exp(-0.5 * d2.pow(b)), 1.0 / (d2.pow(b) + 1.0)),
    )
    return _normalised(kernels, sizes)


def _random_kernels(s: BlurSettings, draw: _Draws, params: dict, name: str) -> torch.Tensor:
    options = torch.as_tensor(s.kernel_sizes, device=draw.device)
    sizes = options[draw.choice([1.0] * len(options))]
    types = draw.choice(s.kernel_probs)
    is_sinc = draw.bernoulli(s.sinc_prob)
    sigma = torch.stack([draw.uniform(s.sigma), draw.uniform(s.sigma)], dim=1)
    angle = draw.uniform((-math.pi, math.pi))
    below_one = draw.bernoulli(0.5)
    generalized = torch.where(
        below_one, draw.uniform((s.generalized_beta[0], 1.0)), draw.uniform((1.0, s.generalized_beta[1]))
    )
    plateau = torch.where(
        below_one, draw.uniform((s.plateau_beta[0], 1.0)), draw.uniform((1.0, s.plateau_beta[1]))
    )
    omega = torch.where(
        sizes < 13, draw.uniform((math.pi / 3, math.pi)), draw.uniform((math.pi / 5, math.pi))
    )
    isotropic = types % 2 == 0
    sigma[:, 1] = torch.where(isotropic, sigma[:, 0], sigma[:, 1])
    angle = torch.where(isotropic, torch.zeros_like(angle), angle)
    beta = torch.where(types // 2 == 2, plateau, generalized)
    kernels = torch.where(
        is_sinc.view(-1, 1, 1), sinc_kernels(sizes, omega), mixed_kernels(sizes, types, sigma, angle, beta)
    )
    params.update(
        {
            f"{name}_kernel_type": torch.where(is_sinc, len(KERNEL_TYPES) - 1, types),
            f"{name}_kernel_size": sizes,
            f"{name}_sigma": sigma,
            f"{name}_angle": angle,
            f"{name}_beta": beta,
            f"{name}_omega": omega,
        }
    )
    return kernels


def _filter(x: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    # Mirror the edges as Real-ESRGAN does; images too small to mirror a 21-tap kernel repeat them.
    border = "reflect" if min(x.shape[-2:]) > MAX_KERNEL // 2 else "replicate"
    return filter2d(x, kernels.to(x.dtype), border_type=border)


def _blur(x: torch.Tensor, s: BlurSettings, draw: _Draws, params: dict, name: str) -> torch.Tensor:
    kernels = _random_kernels(s, draw, params, name)
    applied = draw.bernoulli(s.prob)
    params[f"{name}_applied"] = applied
    kernels = torch.where(applied.view(-1, 1, 1), kernels, _pulse(len(applied), kernels.device))
    return _filter(x, kernels)


def _resize(x, s: ResizeSettings, draw: _Draws, params: dict, name: str, base: tuple[float, float]):
    direction = draw.choice(s.probs, 1)[0]
    up, down = draw.uniform((1.0, s.scale[1]), 1)[0], draw.uniform((s.scale[0], 1.0), 1)[0]
    scale = torch.stack([up, down, torch.ones_like(up)])[direction]
    params[f"{name}_scale"] = scale
    size = (max(1, int(base[0] * float(scale))), max(1, int(base[1] * float(scale))))
    return _resize_to(x, size, draw, params, name)


def _resize_to(x, size: tuple[int, int], draw: _Draws, params: dict, name: str) -> torch.Tensor:
    mode = draw.choice([1.0] * len(RESIZE_MODES), 1)[0]
    params[f"{name}_resize_mode"] = mode
    method = RESIZE_MODES[int(mode)]
    options = {} if method == "area" else {"align_corners": False}
    return F.interpolate(x, size=size, mode=method, **options)


def _poisson(x: torch.Tensor, draw: _Draws) -> torch.Tensor:
    """Poisson noise with as many intensity levels as the image has distinct 8-bit values, rounded
    up to a power of two (Real-ESRGAN's rule)."""
    x = x.clamp(0, 1)
    distinct = [float(torch.unique((image * 255).round()).numel()) for image in x]
    levels = torch.tensor(distinct, device=x.device)
    levels = (2 ** torch.ceil(torch.log2(levels))).view(-1, 1, 1, 1)
    return draw.poisson(x * levels) / levels - x


def _noise(x: torch.Tensor, s: NoiseSettings, draw: _Draws, params: dict, name: str) -> torch.Tensor:
    batch, bands, height, width = x.shape
    gaussian = draw.bernoulli(s.gaussian_prob)
    gray = draw.bernoulli(s.gray_prob)
    sigma = draw.uniform(s.gaussian_sigma)
    poisson_scale = draw.uniform(s.poisson_scale)
    colour_field = draw.normal((batch, bands, height, width))
    gray_field = draw.normal((batch, 1, height, width))
    colour_counts = _poisson(x, draw)
    gray_counts = _poisson(x.mean(dim=1, keepdim=True), draw)
    view = (-1, 1, 1, 1)
    gauss_noise = torch.where(gray.view(view), gray_field, colour_field) * (sigma / 255.0).view(view)
    poisson_noise = torch.where(gray.view(view), gray_counts, colour_counts) * poisson_scale.view(view)
    params.update(
        {
            f"{name}_gaussian": gaussian,
            f"{name}_gray": gray,
            f"{name}_sigma": sigma,
            f"{name}_poisson_scale": poisson_scale,
        }
    )
    return (x + torch.where(gaussian.view(view), gauss_noise, poisson_noise)).clamp(0, 1)


def _jpeg(
    x: torch.Tensor, quality: tuple[float, float], draw: _Draws, params: dict, name: str
) -> torch.Tensor:
    q = draw.uniform(quality)
    params[f"{name}_quality"] = q
    x = x.clamp(0, 1)
    batch, bands, height, width = x.shape
    if bands == 3:
        return jpeg_codec_differentiable(x, q)
    # Bands other than RGB: each band coded as a grey image (R = G = B), read back as the mean.
    grey = x.reshape(batch * bands, 1, height, width).expand(-1, 3, -1, -1)
    coded = jpeg_codec_differentiable(grey, q.repeat_interleave(bands))
    return coded.mean(dim=1).reshape(batch, bands, height, width)


def _final_sinc(s: DegradationSettings, draw: _Draws, params: dict) -> torch.Tensor:
    options = torch.as_tensor(s.blur2.kernel_sizes, device=draw.device)
    sizes = options[draw.choice([1.0] * len(options))]
    omega = draw.uniform((math.pi / 3, math.pi))
    applied = draw.bernoulli(s.final_sinc_prob)
    params.update({"final_sinc_applied": applied, "final_sinc_size": sizes, "final_sinc_omega": omega})
    return torch.where(applied.view(-1, 1, 1), sinc_kernels(sizes, omega), _pulse(draw.batch, draw.device))
