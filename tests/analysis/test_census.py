"""The census of model definitions: known models mapped right, counts of the installed transformers, the
stored file (reused, recomputed when corrupt or stale, written atomically), the verdicts, the verb and the
report section. The models are built on the meta device from a subset chosen by name, so the tests take
seconds; the config fields are read for every model type of the installed transformers."""

from __future__ import annotations

import json
import sys
import types

import pytest
from torch import nn

from gelulab import cli
from gelulab.census import VERDICTS, Census, census_data, examples, load, run, save, store, summarise, verdicts
from gelulab.census.activations import map_value, primary_activation
from gelulab.census.checks import relu_for_vision, relu_king_of_large_vision
from gelulab.census.plot import plot_shares
from gelulab.census.transformers_models import census_one, model_types

#: Every explainer example the census looks up, the composite CLIP with its vision tower, and models that
#: show a gated block (LLaMA, Gemma, Mixtral's fused experts, mT5's gated-gelu), an audio model, and two
#: defaults that do not build (Autoformer needs a prediction length; DETR's backbone needs timm).
SUBSET = ["bert", "openai-gpt", "gpt2", "t5", "mt5", "roberta", "llama", "gemma", "mixtral", "clip",
          "clip_vision_model", "vit", "convnext", "resnet", "whisper", "autoformer", "detr"]

VERDICT_WORDS = {"holds", "fails", "holds in part", "cannot be settled here"}


def _reject_constant(name: str):
    raise ValueError(f"not strict JSON: {name}")


@pytest.fixture(scope="session")
def small() -> Census:
    return run(SUBSET, [])


@pytest.fixture(scope="session")
def by_type(small: Census) -> dict[str, dict]:
    return {r["model_type"]: r for r in small.records}


@pytest.mark.parametrize("model_type, activation, gated", [
    ("bert", "gelu", False),
    ("gpt2", "gelu_tanh", False),  # gelu_new
    ("openai-gpt", "gelu_tanh", False),
    ("t5", "relu", False),  # T5's default feed_forward_proj is "relu", not GELU
    ("mt5", "gelu_tanh", True),  # "gated-gelu" runs gelu_new inside a wi_0/wi_1 block
    ("llama", "silu", True),
    ("gemma", "gelu_tanh", True),
    ("mixtral", "silu", True),
    ("clip", "quick_gelu", False),
    ("vit", "gelu", False),
    ("resnet", "relu", False),
    ("convnext", "gelu", False),
    ("whisper", "gelu", False),
])
def test_known_models_map_to_their_registry_activation(by_type, model_type, activation, gated):
    r = by_type[model_type]
    assert r["activation"] == activation, r
    assert r["gated"] is gated
    assert r["activation_from"] == "modules" and r["modules"][activation] > 0


def test_the_built_modules_win_over_the_config_field(by_type):
    mt5 = by_type["mt5"]
    (field,) = [f for f in mt5["fields"] if f["path"] == "feed_forward_proj"]
    assert field["value"] == "gated-gelu" and field["activation"] == "gelu" and field["gated"] is True
    assert mt5["activation"] == "gelu_tanh"


def test_a_composite_model_counts_both_towers_and_its_parts_have_a_modality(by_type):
    clip, tower = by_type["clip"], by_type["clip_vision_model"]
    assert clip["modality"] == "multimodal" and clip["modules"]["quick_gelu"] == 24  # 12 text + 12 vision layers
    assert tower["modality"] == "vision" and "clip" in tower["part_of"]
    assert {f["path"] for f in clip["fields"]} >= {"text_config.hidden_act", "vision_config.hidden_act"}


def test_modalities_come_from_the_auto_mappings(by_type):
    assert [by_type[t]["modality"] for t in ("bert", "llama", "vit", "resnet", "whisper")] == \
        ["text", "text", "vision", "vision", "audio"]
    assert "auto mappings" in by_type["bert"]["modality_from"]


def test_parameter_counts_are_those_of_the_default_configs(by_type):
    assert 100e6 < by_type["bert"]["parameters"] < 120e6  # BERT-base
    assert 6e9 < by_type["llama"]["parameters"] < 7e9  # LLaMA-7B
    assert 40e9 < by_type["mixtral"]["parameters"] < 50e9  # Mixtral 8x7B: experts counted, on the meta device
    assert by_type["resnet"]["parameters"] < by_type["vit"]["parameters"]


def test_a_model_that_does_not_build_keeps_its_reason_and_its_config_field(by_type):
    r = by_type["autoformer"]
    assert r["parameters"] is None and r["error"].startswith("build: ValueError")
    assert "\n" not in r["error"]
    assert r["activation"] == "gelu" and r["activation_from"] == "config field" and r["gated"] is None


def test_counts_of_the_subset(small):
    s = summarise(small.records, small.meta)
    assert s["models"] == len(SUBSET) and sum(s["activations"].values()) == len(SUBSET)
    assert s["activations"]["gelu"] >= 5 and s["activations"]["relu"] == 3  # t5, resnet, detr (its field)
    assert s["gated"]["gated"] == 4
    assert s["failures"]["count"] == 2 and not s["complete"]
    assert sum(sum(c.values()) for c in s["by_size"].values()) == len(SUBSET)
    assert s["by_size"]["not built"] == {"gelu": 1, "relu": 1}


def test_the_config_fields_of_every_installed_model_type():
    """Without building: what the top-level fields of all the installed configs say (about 800 of them)."""
    records = [census_one(t, build=False) for t in model_types()]
    fields = summarise(records, {})["top_level_fields"]
    by = {k: v["count"] for k, v in fields["by_activation"].items()}
    assert len(records) >= 500
    assert 0.15 < by["gelu"] / len(records) < 0.45
    assert 0.10 < by["silu"] / len(records) < 0.45
    assert by["gelu_tanh"] >= 20 and by["relu"] >= 20 and by["quick_gelu"] >= 10 and by["relu2"] >= 1
    assert {"gelu_new", "gelu_pytorch_tanh"} <= set(fields["by_activation"]["gelu_tanh"]["values"])
    assert 0.15 < fields["not found"] / len(records) < 0.5


@pytest.mark.parametrize("value, expected", [
    ("gelu", ("gelu", False)), ("gelu_new", ("gelu_tanh", False)), ("gelu_pytorch_tanh", ("gelu_tanh", False)),
    ("swish", ("silu", False)), ("quick_gelu", ("quick_gelu", False)), ("relu2", ("relu2", False)),
    ("gated-silu", ("silu", True)), ("gated-gelu", ("gelu", True)), ("tanh", (None, False)),
    ("gelu_10", (None, False)), ("no_such_thing", (None, False)), (3, (None, False)),
])
def test_config_values_map_the_way_transformers_reads_them(value, expected):
    name, gated, why = map_value(value)
    assert (name, gated) == expected
    assert (why is None) == (name is not None)


def test_primary_activation_without_modules_falls_back_to_the_fields():
    assert primary_activation(None, []) == (None, "none found")


def test_the_explainer_examples(small):
    rows = {r["label"]: r for r in examples(small)}
    assert rows["T5"]["activation"] == "relu" and rows["T5"]["agrees"] is False
    assert rows["BERT"]["agrees"] is True and rows["ResNet"]["agrees"] is True
    assert rows["ViT"]["activation"] == "gelu" and rows["ViT"]["agrees"] is False
    if store.versions()["timm"] is None:  # VGG is a timm model: without timm it is named as missing, not guessed
        assert rows["VGG"]["activation"] is None and "timm" in rows["VGG"]["missing"]


def test_verdicts_have_the_claims_contract(small):
    results = verdicts(small)
    assert set(results) == set(VERDICTS)
    for v in results.values():
        assert set(v) == {"verdict", "summary", "numbers", "command"}
        assert v["verdict"] in VERDICT_WORDS and v["command"] == "gelulab census"
        assert any(ch.isdigit() for ch in v["summary"])
        json.dumps(v["numbers"], allow_nan=False)
    # T5 uses ReLU and LLaMA SiLU, while BERT and GPT-2 use GELU: the popularity row holds in part
    assert results["popularity"]["verdict"] == "holds in part"
    assert "T5 relu" in results["popularity"]["summary"]


def _vision(activation: str, parameters: int, n: int) -> list[dict]:
    return [{"source": "transformers", "model_type": f"{activation}{i}", "activation": activation, "modality": "vision",
             "parameters": parameters, "tasks": []} for i in range(n)]


def test_vision_verdicts_follow_the_shares():
    relu_world = Census(_vision("relu", 500_000_000, 5) + _vision("gelu", 500_000_000, 2), {})
    assert relu_king_of_large_vision(relu_world)["verdict"] == "holds"
    assert relu_for_vision(relu_world)["verdict"] == "holds"
    gelu_world = Census(_vision("relu", 50_000_000, 3) + _vision("gelu", 500_000_000, 5), {})
    assert relu_king_of_large_vision(gelu_world)["verdict"] == "fails"
    assert relu_for_vision(gelu_world)["verdict"] == "holds in part"  # 3 relu, at least half of 5 gelu
    assert relu_for_vision(Census(_vision("gelu", 1, 7) + _vision("relu", 1, 1), {}))["verdict"] == "fails"
    assert relu_king_of_large_vision(Census([], {}))["verdict"] == "cannot be settled here"


# --- the stored census --------------------------------------------------------------------------

def test_a_stored_census_is_reused_when_its_versions_match(small, tmp_path, monkeypatch):
    found = store.versions()
    path = store.stored_path(found, tmp_path)
    save(Census(small.records, {**small.meta, **found, "schema": store.SCHEMA}), path)
    monkeypatch.setattr(store, "run", lambda **kw: pytest.fail("recomputed a census that was stored"))
    again = store.load_or_run(folder=tmp_path)
    assert again.reused and again.path == path and len(again.records) == len(SUBSET)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind


@pytest.mark.parametrize("content, reason", [
    ("{not json", "cannot be read"),
    ('{"meta": {"schema": 1}, "records": 3}', "cannot be read"),
    ('{"meta": {"schema": 0, "transformers": "x"}, "records": []}', "layout"),
    ("stale", "installed is"),
])
def test_a_corrupt_or_stale_stored_census_is_recomputed(small, tmp_path, monkeypatch, content, reason):
    found = store.versions()
    path = store.stored_path(found, tmp_path)
    if content == "stale":
        save(Census(small.records, {**found, "schema": store.SCHEMA, "transformers": "0.0.1"}), path)
    else:
        path.write_text(content)
    fresh = Census(small.records, {**small.meta, **found, "schema": store.SCHEMA})
    monkeypatch.setattr(store, "run", lambda **kw: fresh)
    census = store.load_or_run(folder=tmp_path)
    assert census is fresh and reason in census.note and "recomputed" in census.note
    reloaded, note = load(path, found)
    assert note is None and reloaded.meta["transformers"] == found["transformers"]


def test_an_interrupted_write_leaves_the_stored_file_whole(small, tmp_path):
    path = tmp_path / "census.json"
    save(Census(small.records, {"schema": store.SCHEMA}), path)
    before = path.read_bytes()
    with pytest.raises(ValueError):  # NaN is not JSON: the write fails before the rename
        save(Census([{"model_type": "x", "parameters": float("nan")}], {"schema": store.SCHEMA}), path)
    assert path.read_bytes() == before


def test_unknown_model_types_are_named_with_the_closest_one():
    with pytest.raises(store.CensusError, match="'gpt2'"):
        run(["gtp2"], [])


# --- timm, with a stand-in module ------------------------------------------------------------------

def test_timm_models_are_censused_where_timm_imports(monkeypatch):
    fake = types.ModuleType("timm")
    fake.__version__ = "0.0+standin"
    fake.list_models = lambda: ["tiny_cnn", "tiny_mlp"]

    def create_model(name: str, pretrained: bool = False) -> nn.Module:
        assert pretrained is False  # never weights
        if name == "tiny_cnn":
            return nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 8, 3), nn.ReLU())
        return nn.Sequential(nn.Linear(4, 4), nn.GELU())

    fake.create_model = create_model
    monkeypatch.setitem(sys.modules, "timm", fake)
    census = run(["bert"], None)
    timm_records = {r["model_type"]: r for r in census.records if r["source"] == "timm"}
    assert timm_records["tiny_cnn"]["activation"] == "relu" and timm_records["tiny_cnn"]["modules"] == {"relu": 2}
    assert timm_records["tiny_mlp"]["activation"] == "gelu" and timm_records["tiny_mlp"]["modality"] == "vision"
    assert census.meta["timm"] == "0.0+standin" and "timm-0.0+standin" in store.stored_path(census.meta).name


def test_without_timm_the_census_says_why(monkeypatch):
    monkeypatch.setitem(sys.modules, "timm", None)  # import timm raises ImportError
    found = store.versions()
    assert found["timm"] is None and found["timm_missing"].startswith("import timm failed")


# --- the verb ---------------------------------------------------------------------------------------

def test_census_help_explains_the_verb(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["census", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "meta device" in out and "--refresh" in out and "--json" in out


def test_census_json_is_strict_json(capsys):
    assert cli.main(["census", "--models", "bert,t5,llama", "--json", "--records"]) == 0
    data = json.loads(capsys.readouterr().out, parse_constant=_reject_constant)
    assert data["summary"]["activations"] == {"gelu": 1, "relu": 1, "silu": 1}
    assert {r["model_type"] for r in data["records"]} == {"bert", "t5", "llama"}
    assert set(data["verdicts"]) == set(VERDICTS)


def test_census_table_names_the_activations_and_timm(capsys):
    assert cli.main(["census", "--models", "bert,gpt2"]) == 0
    out = capsys.readouterr().out
    assert "gelu_tanh" in out and "gelu_new 1" in out and "explainer" in out
    if store.versions()["timm"] is None:
        assert "timm's models are not in it" in out


@pytest.mark.parametrize("argv, message", [
    (["--models", "no_such_model"], "no model type 'no_such_model'"),
    (["--models", ","], "--models needs model types"),
    (["--workers", "0"], "--workers must be at least 1"),
    (["--models", "bert", "--refresh"], "--refresh"),
    (["--models", "bert", "--plot", "out.txt"], "--plot must end in"),
])
def test_bad_census_input_is_one_line(capsys, argv, message):
    assert cli.main(["census", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_a_corrupt_store_through_the_verb_is_recomputed_with_a_note(small, tmp_path, monkeypatch, capsys):
    found = store.versions()
    store.stored_path(found, tmp_path).write_text("\x00garbage")
    monkeypatch.setattr(store, "run", lambda **kw: Census(small.records, {**small.meta, **found,
                                                                             "schema": store.SCHEMA}))
    assert cli.main(["census", "--store-dir", str(tmp_path), "--json"]) == 0
    captured = capsys.readouterr()
    json.loads(captured.out, parse_constant=_reject_constant)
    assert "cannot be read" in captured.err and "recomputed" in captured.err


# --- plot and report section ------------------------------------------------------------------------

def test_the_shares_plot(small, tmp_path):
    out = plot_shares(census_data(small)["summary"], tmp_path / "shares.png")
    assert out.read_bytes()[:4] == b"\x89PNG" and out.stat().st_size > 10_000
    with pytest.raises(ValueError, match="must end in"):
        plot_shares(census_data(small)["summary"], tmp_path / "shares.txt")


def test_the_census_section_sits_after_properties_and_before_training():
    from gelulab.report.build import SECTIONS

    titles = [t for t, _ in SECTIONS]
    assert titles.index("Properties") + 1 == titles.index("Census") < titles.index("Training")


def test_the_quick_section_without_a_stored_census_shows_the_examples_only(tmp_path, monkeypatch):
    from gelulab.report.section import ReportContext
    from gelulab.report.sections_census import build

    monkeypatch.setenv("GELULAB_CENSUS_DIR", str(tmp_path / "empty"))
    s = build(ReportContext(out_dir=tmp_path, quick=True))
    assert s.measured is False and s.highlights == [] and "censused" in s.markdown
    assert "| T5 | t5 | GELU | relu |" in s.markdown
    assert s.figures[0].exists() and s.rerun == "gelulab census"


def test_the_section_reuses_a_stored_census(small, tmp_path, monkeypatch):
    from gelulab.report.section import ReportContext
    from gelulab.report.sections_census import build

    found = store.versions()
    monkeypatch.setenv("GELULAB_CENSUS_DIR", str(tmp_path / "census"))
    save(Census(small.records, {**small.meta, **found, "schema": store.SCHEMA, "complete": True}),
         store.stored_path(found))
    monkeypatch.setattr(store, "run", lambda *a, **kw: pytest.fail("recomputed a census that was stored"))
    for quick in (True, False):
        s = build(ReportContext(out_dir=tmp_path / "report", quick=quick))
        assert s.measured and s.data_source.startswith("stored ")
        assert any("**holds in part**" in h for h in s.highlights)


def _claim(key: str, census: Census, monkeypatch=None, training=None):
    from gelulab.claims import claims
    from gelulab.claims.verdicts import EvidenceContext

    if training is not None:
        from gelulab.claims import training as training_module

        monkeypatch.setattr(training_module, "training_evidence", training)
    ctx = EvidenceContext(quick=True)
    ctx._census = census
    claim = next(c for c in claims() if c.key == key)
    return claim, claim.evidence(ctx)


@pytest.mark.parametrize("key, verdict_key", [("table_popularity", "popularity"),
                                              ("summary_relu_vision", "relu_for_vision"),
                                              ("summary_silu_replacing", "relu_king_of_large_vision")])
def test_claims_about_practice_take_the_census_verdict(small, monkeypatch, key, verdict_key):
    claim, e = _claim(key, small, monkeypatch, training=lambda key, store_path=None: None)  # no runs stored
    want = VERDICTS[verdict_key](small)
    assert claim.kind == "census"
    assert e.verdict == want["verdict"] and want["summary"] in e.summary
    assert "gelulab census" in e.command


def test_a_census_claim_with_training_beside_it_holds_in_part_when_they_disagree(small, monkeypatch):
    census_verdict = VERDICTS["relu_for_vision"](small)["verdict"]
    other = "holds" if census_verdict != "holds" else "fails"
    _, e = _claim("summary_relu_vision", small, monkeypatch,
                  lambda key, store_path=None: {"verdict": other, "summary": "ReLU 0.9 vs GELU 0.8",
                                                "command": "gelulab sweep v"})
    assert e.verdict == "holds in part"
    assert "ReLU 0.9 vs GELU 0.8" in e.summary and "gelulab sweep v" in e.command
    _, same = _claim("summary_relu_vision", small, monkeypatch,
                     lambda key, store_path=None: {"verdict": census_verdict, "summary": "s", "command": "c"})
    assert same.verdict == census_verdict


def test_a_census_that_cannot_be_taken_leaves_the_claim_unsettled_with_the_reason(monkeypatch):
    from gelulab.claims import check_claims
    from gelulab.claims.verdicts import EvidenceContext

    def broken(quick=False):
        raise store.CensusError("transformers is not installed: pip install 'transformers>=4.40'")

    monkeypatch.setattr(store, "for_report", broken)
    monkeypatch.setattr(EvidenceContext, "_census", None)
    (r,) = check_claims(quick=True, keys=["table_popularity"])
    assert r.verdict == "cannot be settled here" and "transformers is not installed" in r.evidence.summary
