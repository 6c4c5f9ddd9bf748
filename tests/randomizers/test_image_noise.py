"""ImageNoise's compiled kernel against what its parameters promise: the Gaussian noise's spread, the salt and
pepper fractions, a normalised symmetric blur, and one image's noise independent of its batch."""

from __future__ import annotations

import numpy as np
import torch

from domrand.randomizers.noise import ImageNoise, NoiseParams


def params(n: int, *, b=1.0, c=1.0, s=1.0, sigma=0.0, g=0.0, salt=0.0, seed=7) -> NoiseParams:
    f = lambda v: torch.full((n,), float(v))  # noqa: E731
    return NoiseParams(f(b), f(c), f(s), f(sigma), f(g), f(salt), torch.arange(seed, seed + n))


def test_gaussian_noise_has_the_asked_spread_and_channels_are_independent():
    img = torch.full((2, 128, 128, 3), 0.5)
    out = ImageNoise().apply(img, params(2, g=0.05)).numpy() - 0.5
    assert abs(out.mean()) < 0.001 and abs(out.std() / 0.05 - 1) < 0.02
    flat = out.reshape(-1, 3)
    corr = np.corrcoef(flat.T)
    assert np.abs(corr - np.eye(3)).max() < 0.02
    tail = (np.abs(flat) > 3 * 0.05).mean()
    assert 0.0015 < tail < 0.004  # a normal's 0.27 % beyond three sigma


def test_salt_and_pepper_blacken_and_whiten_the_asked_shares():
    img = torch.full((1, 256, 256, 3), 0.5)
    out = ImageNoise().apply(img, params(1, salt=0.1)).numpy()[0]
    black, white = (out == 0).all(-1).mean(), (out == 1).all(-1).mean()
    assert abs(black - 0.05) < 0.005 and abs(white - 0.05) < 0.005
    assert ((out == 0.5).all(-1) | (out == 0).all(-1) | (out == 1).all(-1)).all()


def test_blur_is_normalised_symmetric_and_spreads_an_impulse():
    img = torch.zeros(1, 21, 21, 3)
    img[0, 10, 10] = 1.0
    out = ImageNoise().apply(img, params(1, sigma=1.0)).numpy()[0, ..., 0]
    assert abs(out.sum() - 1.0) < 1e-5 and np.allclose(out, out[::-1, :]) and np.allclose(out, out.T)
    assert out[10, 10] < 0.2 and out[10, 12] > 0 and out[10, 13] == 0  # 5 taps: reaches 2 pixels


def test_an_images_noise_depends_on_its_own_seed_only():
    g = torch.Generator().manual_seed(0)
    img = torch.rand(6, 32, 32, 3, generator=g)
    noise = ImageNoise()
    p = noise.sample(6, rng=torch.Generator().manual_seed(1))
    whole = noise.apply(img, p)
    parts = torch.cat([noise.apply(img[i : i + 1], p.select(torch.tensor([i]))) for i in range(6)])
    assert torch.equal(whole, parts)
    assert not torch.equal(whole[0], noise.apply(img[:1], p.select(torch.tensor([1])))[0])


def test_compiled_quantize_equals_frame_quantize():
    from domrand.frame import quantize as reference
    from domrand.generate.runner import quantize

    x = torch.rand(3, 17, 19, 3, generator=torch.Generator().manual_seed(0)) * 1.4 - 0.2
    x[0, 0, :8, 0] = torch.tensor([0.0, 1.0, 0.5 / 255, 1.5 / 255, 254.5 / 255, -0.0, 1.0000001, 0.99999])
    assert np.array_equal(quantize(x), reference(x).numpy())


def _contrast_mean(img: np.ndarray) -> np.ndarray:
    """Each image's mean as the kernel's contrast uses it: the float64 sum of its float32 values taken one after
    another in memory order (np.cumsum adds in order, with no pairwise summation), divided, rounded to float32."""
    return np.array([np.float32(np.cumsum(x.reshape(-1).astype(np.float64))[-1] / x.size) for x in img])


def test_the_contrast_mean_is_the_in_order_sum_on_both_of_its_paths():
    """`kernels.noise._sum` adds eight running sums where every value is 0 or in [2^-13, 2^17) and the total stays
    below 2^17 (then every partial sum is exact and the order cannot matter), else one value after another. Either
    way the contrast's mean must be the in-order sum's: a contrast of 0 leaves each pixel at that mean (as float32),
    so the output shows it bit for bit, on images that take each path."""
    rng = np.random.default_rng(3)
    plain = rng.uniform(2.0**-13, 1.0, (1, 61, 61, 3)).astype(np.float32)  # 11,163 values: not a multiple of 8
    plain[0, :5] = 0.0  # zeros keep the fast path
    tiny = plain.copy()
    tiny[0, 7, 9, 1] = np.float32(3e-9)  # below 2^-13: one value after another
    big = np.full((1, 256, 256, 3), 0.999, np.float32)  # 196,608 values: the total passes 2^17
    big[0, ::3] = rng.uniform(0.5, 1.0, (86, 256, 3)).astype(np.float32)
    for img in (plain, tiny, big):
        out = ImageNoise().apply(torch.from_numpy(img), params(1, c=0.0, s=1.0)).numpy()
        mean = _contrast_mean(img)[0]
        assert out[0, 0, 0, 0] == np.clip(mean, 0, 1), (img.shape, out[0, 0, 0, 0], mean)
        assert (out == out[0, 0, 0, 0]).all()
