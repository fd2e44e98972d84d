import pytest
import torch
from diffusers import DDIMScheduler, DDPMScheduler

from terrasynth.core.errors import ConfigError
from terrasynth.models.diffusion import DiffusionSampler, NoiseSchedule


class Toy(torch.nn.Module):
    """A fixed random convolution as a stand-in denoiser; a condition shifts its output."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x, t, *, shift=0.0):
        return torch.tanh(self.conv(x) + t.view(-1, 1, 1, 1) / 1000 + shift)


@torch.no_grad()
def test_ddim_eta0_is_deterministic_and_uses_fifty_steps_by_default():
    sampler = DiffusionSampler(NoiseSchedule())
    assert sampler.steps == 50 and len(sampler.timesteps) == 50 and sampler.timesteps[0] == 999
    x_T = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    a = sampler.sample(Toy(), x_T, generator=torch.Generator().manual_seed(2))
    b = sampler.sample(Toy(), x_T, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    assert not torch.equal(a, sampler.sample(Toy(), x_T, shift=0.5))


@pytest.mark.parametrize("eta", [0.0, 0.3, 1.0])
@pytest.mark.parametrize("kind", ["linear", "scaled_linear"])
def test_one_step_equals_diffusers_ddim_step(kind, eta):
    schedule = NoiseSchedule(kind)
    sampler = DiffusionSampler(schedule, steps=20, eta=eta)
    reference = DDIMScheduler(
        num_train_timesteps=1000, beta_start=0.0015, beta_end=0.0155, beta_schedule=kind,
        clip_sample=False, set_alpha_to_one=True, timestep_spacing="trailing",
    )  # fmt: skip
    reference.set_timesteps(20)
    assert sampler.timesteps == reference.timesteps.tolist()
    g = torch.Generator().manual_seed(0)
    x, eps, noise = (torch.randn(2, 3, 8, 8, generator=g) for _ in range(3))
    for t in sampler.timesteps[:3] + sampler.timesteps[-1:]:
        ours = sampler.step(eps, t, x, noise=noise)
        theirs = reference.step(eps, t, x, eta=eta, variance_noise=noise if eta > 0 else None).prev_sample
        assert torch.equal(ours, theirs)


def test_clipping_bounds_the_predicted_clean_image():
    schedule = NoiseSchedule()
    free, clipped = DiffusionSampler(schedule, steps=10), DiffusionSampler(schedule, steps=10, clip=1.0)
    g = torch.Generator().manual_seed(0)
    x, eps = torch.randn(1, 3, 8, 8, generator=g), torch.randn(1, 3, 8, 8, generator=g)
    t, t_prev = free.timesteps[0], free.timesteps[1]
    a_t, a_prev = schedule.alphas_cumprod[[t, t_prev]]
    x0 = ((x - (1 - a_t).sqrt() * eps) / a_t.sqrt()).clamp(-1, 1)
    expected = a_prev.sqrt() * x0 + (1 - a_prev).sqrt() * eps
    torch.testing.assert_close(clipped.step(eps, t, x), expected)
    assert not torch.allclose(free.step(eps, t, x), expected)
    with pytest.raises(ConfigError, match="clip bound"):
        DiffusionSampler(schedule, clip=0.0)


def test_strength_runs_the_last_steps_from_a_noised_image():
    schedule = NoiseSchedule()
    whole, part = DiffusionSampler(schedule, steps=10), DiffusionSampler(schedule, steps=10, strength=0.4)
    assert part.timesteps == whole.timesteps[-4:] == [399, 299, 199, 99] and part.steps == 4
    g = torch.Generator().manual_seed(0)
    image, noise = torch.rand(2, 3, 4, 4, generator=g) * 2 - 1, torch.randn(2, 3, 4, 4, generator=g)
    torch.testing.assert_close(
        part.start(noise, image), schedule.add_noise(image, noise, torch.tensor([399, 399]))
    )
    assert whole.start(noise) is noise
    with pytest.raises(ConfigError, match="starts from an image"):
        part.start(noise)
    with pytest.raises(ConfigError, match="strength"):
        DiffusionSampler(schedule, strength=0.0)


def test_ddim_step_follows_the_reference_formula():
    schedule = NoiseSchedule()
    sampler = DiffusionSampler(schedule, steps=10, eta=0.5)
    t, t_prev = sampler.timesteps[2], sampler.timesteps[3]
    a_t, a_prev = schedule.alphas_cumprod.double()[[t, t_prev]]
    g = torch.Generator().manual_seed(0)
    x, eps, z = (torch.randn(1, 3, 4, 4, generator=g, dtype=torch.float64) for _ in range(3))
    sigma = 0.5 * ((1 - a_prev) / (1 - a_t)).sqrt() * (1 - a_t / a_prev).sqrt()
    expected = (
        a_prev.sqrt() * (x - (1 - a_t).sqrt() * eps) / a_t.sqrt()
        + (1 - a_prev - sigma**2).sqrt() * eps
        + sigma * z
    )
    # diffusers computes the step's coefficients (square roots and ratios of cumulative alphas) in
    # float32, each rounded to about 6e-8 relative; with x / sqrt(a_t) of order 10 that gives
    # differences of a few 1e-7 (5.5e-7 seen on an AMD EPYC), so compare at float32 precision.
    torch.testing.assert_close(sampler.step(eps, t, x, noise=z), expected, rtol=1e-5, atol=1e-6)


def test_ddpm_is_ddim_with_eta_one_and_matches_diffusers_ddpm():
    schedule = NoiseSchedule()
    sampler = DiffusionSampler.ddpm(schedule)
    assert sampler.eta == 1.0 and sampler.timesteps == list(range(999, -1, -1))
    reference = schedule.ddpm_scheduler()
    assert isinstance(reference, DDPMScheduler)
    reference.set_timesteps(1000)
    g = torch.Generator().manual_seed(0)
    x, eps = torch.randn(2, 3, 8, 8, generator=g), torch.randn(2, 3, 8, 8, generator=g)
    for t in (999, 500, 1):
        ours = sampler.step(eps, t, x, generator=torch.Generator().manual_seed(t))
        theirs = reference.step(eps, t, x, generator=torch.Generator().manual_seed(t)).prev_sample
        torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-5)


@torch.no_grad()
def test_lockstep_steps_equal_the_whole_chain_and_step_noise_is_used():
    sampler = DiffusionSampler(NoiseSchedule(), steps=5, eta=1.0)
    x_T = torch.randn(1, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    noises = [torch.randn(1, 3, 8, 8, generator=torch.Generator().manual_seed(10 + i)) for i in range(5)]
    chain = sampler.sample(Toy(), x_T, step_noise=noises.__getitem__)
    x = x_T
    for i, t in enumerate(sampler.timesteps):
        x = sampler.step(Toy()(x, torch.tensor([t])), t, x, noise=noises[i])
    assert torch.equal(chain, x)
    assert not torch.equal(chain, sampler.sample(Toy(), x_T, generator=torch.Generator().manual_seed(0)))


def test_bad_settings_are_config_errors():
    with pytest.raises(ConfigError, match="between 1 and 1000"):
        DiffusionSampler(NoiseSchedule(), steps=0)
    with pytest.raises(ConfigError, match="eta"):
        DiffusionSampler(NoiseSchedule(), eta=-1)


def gaussian_denoiser(schedule: NoiseSchedule, mean: float, std: float):
    """The exact noise prediction for data drawn from N(mean, std^2) per pixel: its probability-flow
    ODE maps the noise z at t = T onto about mean + std * z."""

    def predict(x, t, **_):
        a = schedule.alphas_cumprod[t].view(-1, 1, 1, 1)
        return (1 - a).sqrt() * (x - a.sqrt() * mean) / (a * std**2 + 1 - a)

    return predict


@torch.no_grad()
def test_dpm_solver_in_ten_steps_lands_nearer_the_exact_image_than_ddim():
    schedule = NoiseSchedule()
    denoiser = gaussian_denoiser(schedule, 0.2, 0.3)
    x_T = torch.randn(4, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    exact = DiffusionSampler(schedule, steps=1000).sample(denoiser, x_T)
    errors = {
        solver: (DiffusionSampler(schedule, 10, solver=solver).sample(denoiser, x_T) - exact).abs().mean()
        for solver in ("ddim", "dpm++")
    }
    assert errors["dpm++"] < errors["ddim"] / 3
    # a chain shortened by strength runs its last steps (from t = 499), as well
    start = DiffusionSampler(schedule, 20, strength=0.5).start(x_T, torch.full_like(x_T, 0.5))
    exact = DiffusionSampler(schedule, steps=1000, strength=0.5).sample(denoiser, start)
    part = {
        solver: DiffusionSampler(schedule, 20, strength=0.5, solver=solver) for solver in ("ddim", "dpm++")
    }
    assert part["ddim"].timesteps == list(range(499, 0, -50))
    assert (
        part["dpm++"].timesteps[0] == 499 and part["dpm++"].timesteps[-1] == 0 and part["dpm++"].steps == 10
    )
    errors = {
        solver: (sampler.sample(denoiser, start) - exact).abs().mean() for solver, sampler in part.items()
    }
    assert errors["dpm++"] < errors["ddim"] / 3


@torch.no_grad()
def test_dpm_solver_chains_are_deterministic_and_independent_of_each_other():
    sampler = DiffusionSampler(NoiseSchedule(), steps=8, solver="dpm++", clip=1.0)
    x_T = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    first = sampler.sample(Toy(), x_T)
    sampler.sample(Toy(), torch.randn(2, 3, 8, 8))  # another chain in between leaves no history
    assert torch.equal(first, sampler.sample(Toy(), x_T))
    assert first.abs().max() <= 1.0  # the last step lands on the clipped clean image


def test_dpm_solver_refuses_noise_and_single_steps():
    with pytest.raises(ConfigError, match=r"dpm\+\+ solver is deterministic: use eta 0"):
        DiffusionSampler(NoiseSchedule(), eta=0.5, solver="dpm++")
    with pytest.raises(ConfigError, match="solver 'euler' is unknown: use one of ddim, dpm"):
        DiffusionSampler(NoiseSchedule(), solver="euler")
    sampler = DiffusionSampler(NoiseSchedule(), steps=4, solver="dpm++")
    with pytest.raises(ConfigError, match="runs whole chains"):
        sampler.step(torch.zeros(1, 3, 4, 4), sampler.timesteps[0], torch.zeros(1, 3, 4, 4))
