"""The request model and the local checks: every rule refuses with its reason and names the input at fault."""

from __future__ import annotations

from typing import Any

import pytest

import realavatar_nb as ra
from realavatar_nb._models import Asset
from realavatar_nb.generation import InputFacts, Reference, check_request, model_spec
from realavatar_nb.generation.blame import blame_note, blamed
from realavatar_nb.generation.catalog import asset_models, model_names
from realavatar_nb.providers import generation_sellers, get


def _asset(n: int, kind: str = "Image") -> Asset:
    return Asset(id=f"asset-{n}", group_id="group-1", name=f"a{n}", asset_type=kind, status="active")


def _check(request: ra.GenerationRequest, provider: str = "byteplus", model: str | None = None, **kw: Any) -> None:
    adapter = get(provider)
    name = model or request.model or adapter.default_model
    check_request(request, provider=provider, spec=model_spec(provider, name), features=adapter.generation_features,
                  sellers=generation_sellers(), **kw)  # fmt: skip


def _refused(request: ra.GenerationRequest, reason: str, **kw: Any) -> ra.GenerationRefusedError:
    with pytest.raises(ra.GenerationRefusedError) as caught:
        _check(request, **kw)
    assert caught.value.reason == reason, str(caught.value)
    return caught.value


def test_a_plain_source_takes_its_kinds_reference_role() -> None:
    r = ra.GenerationRequest("p", [_asset(1), _asset(2, "Video"), "https://x.example/voice.mp3", "bg.png"])
    assert [x.effective_role for x in r.references] == ["reference_image", "reference_video", "reference_audio",
                                                        "reference_image"]  # fmt: skip
    assert [x.is_asset for x in r.references] == [True, True, False, False]
    assert r.references[0].uri == "asset://asset-1"
    assert r.references[3].local_path == "bg.png"


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"duration": 0}, "duration"),
        ({"duration": 4.5}, "duration"),
        ({"ratio": "2:1"}, "ratio"),
        ({"seed": 2**31}, "seed"),
        ({"watermark": "yes"}, "watermark"),
        ({"service_tier": "turbo"}, "service_tier"),
        ({"callback_url": "ftp://x"}, "callback_url"),
    ],
)
def test_a_setting_out_of_any_models_range_is_refused_by_name(kwargs: dict[str, Any], named: str) -> None:
    with pytest.raises(ra.InvalidArgumentError, match=named):
        ra.GenerationRequest("p", **kwargs)


def test_a_role_the_kind_cannot_play_is_refused() -> None:
    with pytest.raises(ra.InvalidArgumentError, match="a video cannot be first_frame"):
        Reference(_asset(1, "Video"), role="first_frame")


def test_models_are_data_with_each_sellers_names() -> None:
    assert model_names("byteplus")[-1] == "dreamina-seedance-2-5-260628"
    spec = model_spec("apimart", "doubao-seedance-2.0-fast-face")
    assert spec is not None and spec.family == "2.0-fast" and "1080p" not in spec.resolutions
    assert model_spec("toapis", "no-such-model") is None
    assert "dreamina-seedance-2-5-260628" not in asset_models("byteplus")


def test_seedance_25_refuses_real_person_assets_naming_the_models_that_take_them() -> None:
    request = ra.GenerationRequest("p", [_asset(1)], model="dreamina-seedance-2-5-260628")
    exc = _refused(request, "ModelCannotReadAssets")
    assert exc.index == 0 and exc.label == "asset-1"
    assert "dreamina-seedance-2-0-260128" in str(exc) and "dreamina-seedance-2-0-fast-260128" in str(exc)


def test_25_takes_plain_inputs_and_audio_alone() -> None:
    _check(ra.GenerationRequest("p", ["https://x.example/a.mp3"], model="dreamina-seedance-2-5-260628"))


def test_audio_alone_is_refused_for_the_20_family() -> None:
    exc = _refused(ra.GenerationRequest("p", [_asset(1, "Audio")]), "AudioOnly")
    assert exc.index == 0


@pytest.mark.parametrize(("kind", "most"), [("Image", 9), ("Video", 3), ("Audio", 3)])
def test_counts_per_kind_name_the_first_reference_over(kind: str, most: int) -> None:
    refs = [_asset(n, kind) for n in range(most + 1)]
    if kind == "Audio":
        refs.insert(0, _asset(99))
    exc = _refused(ra.GenerationRequest("p", refs), f"TooMany{kind}s")
    assert exc.label == f"asset-{most}"


def test_more_than_twelve_references_in_all_is_refused() -> None:
    refs = [_asset(n) for n in range(9)] + [_asset(10 + n, "Video") for n in range(3)] + [_asset(20, "Audio")]
    exc = _refused(ra.GenerationRequest("p", refs), "TooManyReferences")
    assert exc.index == 12


def test_frames_and_references_cannot_mix() -> None:
    request = ra.GenerationRequest("p", [Reference(_asset(1), role="first_frame"), _asset(2)])
    assert _refused(request, "ModesMixed").index == 1
    last_alone = ra.GenerationRequest("p", [Reference(_asset(1), role="last_frame")])
    assert _refused(last_alone, "LastFrameWithoutFirst").index == 0


def test_resolution_and_duration_follow_the_model() -> None:
    _refused(ra.GenerationRequest("p", resolution="1080p", model="dreamina-seedance-2-0-fast-260128"),
             "ResolutionUnsupported")  # fmt: skip
    _refused(ra.GenerationRequest("p", duration=20), "DurationUnsupported")
    _check(ra.GenerationRequest("p", duration=20, model="dreamina-seedance-2-5-260628"))
    _check(ra.GenerationRequest("p", duration=-1))


def test_a_setting_the_seller_has_no_field_for_is_refused_naming_who_has_it() -> None:
    exc = _refused(ra.GenerationRequest("p", watermark=True), "FeatureUnsupported", provider="apimart")
    assert "apimart has no field for watermark" in str(exc) and "byteplus" in str(exc)
    _refused(ra.GenerationRequest("p", service_tier="flex"), "FeatureUnsupported", provider="toapis")
    _refused(ra.GenerationRequest("p", callback_url="https://x.example/cb"), "FeatureUnsupported",
             provider="easyrouter")  # fmt: skip
    _check(ra.GenerationRequest("p", callback_url="https://x.example/cb"), provider="crun")


def test_crun_splits_the_family_by_mode() -> None:
    frames = ra.GenerationRequest("p", [Reference(_asset(1), role="first_frame")], model="bytedance/seedance2-0-r2v")
    _refused(frames, "ModeUnsupported", provider="crun")
    refs = ra.GenerationRequest("p", [Reference(_asset(1), role="reference_image")], model="bytedance/seedance2-0-i2v")
    _refused(refs, "ModeUnsupported", provider="crun")
    _refused(ra.GenerationRequest("p", [_asset(1), _asset(2, "Video")], model="bytedance/seedance2-0-i2v"),
             "ModeUnsupported", provider="crun")  # fmt: skip
    _check(ra.GenerationRequest("p", [_asset(1), _asset(2)], model="bytedance/seedance2-0-i2v"), provider="crun")
    crun = get("crun")(None, ra.Secret("k"))
    assert crun.model_for(ra.GenerationRequest("p", [Reference(_asset(1), role="first_frame")])) == \
        "bytedance/seedance2-0-i2v"  # fmt: skip


def test_reference_video_totals_are_measured_against_the_family() -> None:
    refs = [_asset(1), _asset(2, "Video"), _asset(3, "Video")]
    long = {1: InputFacts(seconds=9, bytes=1000, size=(640, 640)), 2: InputFacts(seconds=9, bytes=1000,
            size=(640, 640))}  # fmt: skip
    assert _refused(ra.GenerationRequest("p", refs), "ReferenceVideosTooLong", facts=long).index == 2
    tiny = {1: InputFacts(seconds=5, bytes=1000, size=(406, 720))}
    exc = _refused(ra.GenerationRequest("p", refs[:2]), "ReferenceVideoPixels", facts=tiny)
    assert "292,320" in str(exc)
    big = {1: InputFacts(seconds=5, bytes=60 * 2**20, size=(640, 640))}
    _refused(ra.GenerationRequest("p", refs[:2]), "ReferenceVideosTooLarge", facts=big)
    loud = {1: InputFacts(seconds=16, bytes=1000)}
    _refused(ra.GenerationRequest("p", [_asset(0), _asset(1, "Audio")]), "ReferenceAudiosTooLong", facts=loud)


def test_a_plain_input_showing_a_face_is_refused_with_the_way_round_it() -> None:
    request = ra.GenerationRequest("p", [_asset(1), "https://x.example/extra.jpg"])
    exc = _refused(request, "RealFaceInPlainInput", facts={1: InputFacts(faces=1)})
    assert exc.index == 1 and "Upload it into the person's group" in str(exc)
    _check(request, facts={0: InputFacts(faces=1)})  # the person's own asset may show their face


def test_content_index_maps_back_to_the_input() -> None:
    request = ra.GenerationRequest("p", [_asset(1), _asset(2, "Video"), "https://x.example/b.jpg"])
    order = get("toapis")(None, ra.Secret("k")).content_order(request)  # grouped: text, images, then videos
    assert order == [None, 0, 2, 1]
    assert blamed("input image 'content[2]' may contain real person", order) == 2
    note = blame_note("input image 'content[2]' may contain real person", request, order)
    assert note == "content[2] is reference 3: https://x.example/b.jpg (reference_image)"
    assert blamed("no index here", order) is None
    assert get("anyfast")(None, ra.Secret("k")).content_order(request) == [None, 0, 1, 2]
