"""What temperature does, as data: the top tokens along the greedy path and seeded samples at one temperature."""

import pytest
import torch

from invemb_core import InvEmbError
from invemb_core.alternatives import END, temperature_view, token_alternatives


@pytest.mark.parametrize("fixture", ["tiny_ae", "tiny_ar_ae"])
def test_alternatives_follow_the_path_and_sharpen_as_temperature_falls(request, fixture):
    ae = request.getfixturevalue(fixture)
    z = ae.encode(["a dog runs in the park"])
    path = ae.decode_ids(z, strategy="greedy")[0]
    cold = token_alternatives(ae, z, path, temperature=0.3, k=4)
    hot = token_alternatives(ae, z, path, temperature=2.0, k=4)
    assert len(cold) == len(path) + 1 and cold[-1].chosen == END
    for c, h in zip(cold, hot):
        assert [p for _, p in c.alternatives] == sorted((p for _, p in c.alternatives), reverse=True)
        assert c.alternatives[0][1] >= h.alternatives[0][1] - 1e-6  # a lower T puts more mass on the top token
    # Greedy chose the most likely token everywhere (its end may be the maximum length, not a choice).
    assert all(c.chosen == c.alternatives[0][0] for c in cold[:-1])
    zero = token_alternatives(ae, z, path, temperature=0.0, k=2)
    assert all(p.chosen_probability == 1.0 for p in zero[:-1])
    assert all(len(p.alternatives) == 1 for p in zero)  # no zero-probability pieces listed
    with pytest.raises(InvEmbError):
        token_alternatives(ae, z, path, temperature=-1.0)


@pytest.mark.parametrize("fixture", ["tiny_ae", "tiny_ar_ae"])
def test_temperature_view_samples_are_each_seeds_own_draw(request, fixture):
    ae = request.getfixturevalue(fixture)
    sentence = "two men talk on a bench"
    view = temperature_view(ae, sentence, temperature=1.5, samples=4, seed=7)
    z = ae.encode([sentence])
    assert view.target == ae.normalize(sentence)
    assert view.greedy == ae.decode(z, strategy="greedy")[0]
    assert list(view.samples) == [7, 8, 9, 10]
    for seed, text in view.samples.items():  # drawn together, yet each what its seed gives alone
        assert text == ae.decode(z, strategy="sample", temperature=1.5, seed=seed)[0]
    assert view.distinct == len(set(view.samples.values()))
    assert temperature_view(ae, sentence, temperature=1.5, samples=4, seed=7) == view
    with pytest.raises(InvEmbError):
        temperature_view(ae, sentence, temperature=1.0, samples=0)


def test_temperature_view_of_meaning_only_decodes_the_kept_part(tiny_ae, monkeypatch):
    seen = []
    original = tiny_ae.decode_ids_many

    def spy(Z, decodings):
        seen.append(Z.clone())
        return original(Z, decodings)

    monkeypatch.setattr(tiny_ae, "meaning", lambda Z, keep: Z * 0.5)
    monkeypatch.setattr(tiny_ae, "decode_ids_many", spy)
    temperature_view(tiny_ae, "a dog runs", temperature=1.0, samples=2, keep=0.0)
    assert torch.allclose(seen[0], tiny_ae.encode(["a dog runs"]) * 0.5)
