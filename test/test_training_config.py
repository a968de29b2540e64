"""Training configs: the shipped YAML files load; unknown keys, bad types and inconsistent
settings fail with messages naming the key; overrides apply."""

from __future__ import annotations

from pathlib import Path

import pytest

from sky2ground_ros.evaluation.benchmark import load_spec
from sky2ground_ros.training.config import ConfigError, config_from_dict, load_config
from sky2ground_ros.training.schedule import WarmupCosine

REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted((REPO / "config" / "train").glob("*.yaml"))
TRAIN_CONFIGS = [p for p in CONFIGS if p.name != "benchmark.yaml"]


def _raw(**sections: dict) -> dict:
    raw: dict = {"name": "t", "data": {"image_size": 56}}
    for section, values in sections.items():
        raw[section] = {**raw.get(section, {}), **values}
    return raw


@pytest.mark.parametrize("path", TRAIN_CONFIGS, ids=lambda p: p.stem)
def test_shipped_configs_load_and_round_trip(path: Path) -> None:
    config = load_config(path)
    assert config.name == path.stem
    assert config_from_dict(config.to_dict()) == config


def test_baseline_configs_encode_the_paper_rows() -> None:
    configs = {p.stem: load_config(p) for p in TRAIN_CONFIGS}
    zeroshot, finetune, skynet = (
        configs["vggt_zeroshot_tiny"],
        configs["vggt_finetune_tiny"],
        configs["skynet_tiny"],
    )
    assert not zeroshot.model.msa and not zeroshot.model.sat_stream
    assert zeroshot.data.view_counts["satellite"] == 0 and not zeroshot.curriculum.pvs
    assert not finetune.model.msa and finetune.data.view_counts["satellite"] > 0
    assert skynet.model.msa and skynet.model.sat_stream
    assert skynet.curriculum.pvs and skynet.curriculum.cacs
    assert configs["ablation_msa"].model.msa and not configs["ablation_msa"].curriculum.pvs
    assert configs["ablation_pvs"].curriculum.pvs and not configs["ablation_pvs"].model.msa
    spec = load_spec(REPO / "config" / "train" / "benchmark.yaml")
    assert {Path(m.config).name for m in spec.methods} <= {p.name for p in TRAIN_CONFIGS}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (_raw(run={"stepz": 3}), "run.stepz"),
        (_raw(extra={"a": 1}), "unknown key(s) extra"),
        (_raw(run={"steps": "many"}), "run.steps: expected an integer"),
        (_raw(model={"msa": "yes"}), "model.msa: expected true/false"),
        (_raw(optim={"betas": [0.9]}), "optim.betas: expected a list of 2"),
        (_raw(data={"image_size": 50}), "multiples of 14"),
        (_raw(model={"config": "huge"}), "model.config 'huge'"),
        (_raw(data={"view_counts": {"ground": 1, "aerial": 1, "satellite": 1}}), "must sum"),
        (_raw(data={"view_counts": {"ground": 2, "aerial": 1, "drone": 1}}), "drone"),
        (
            _raw(data={"view_counts": {"ground": 2, "aerial": 2, "satellite": 0}}),
            "sat_stream needs satellite frames",
        ),
        (_raw(model={"freeze_gas_encoder": True}), "needs model.init_from"),
        (_raw(run={"val_every": 10}), "needs data.val_scenes"),
        (_raw(optim={"warmup_steps": 5000}), "warmup_steps"),
        (_raw(run={"device": "tpu"}), "run.device"),
        ({"data": {}}, "missing required key name"),
    ],
)
def test_invalid_configs_name_the_problem(raw: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        config_from_dict(raw, source="x.yaml")
    assert message in str(info.value)
    assert str(info.value).startswith("x.yaml: ")


def test_overrides_and_yaml_errors(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("name: c\ndata: {image_size: 56}\n")
    overrides = ["run.steps=7", "optim.warmup_steps=2", "optim.lr=0.01", "data.image_size=[28, 42]"]
    config = load_config(path, overrides)
    assert (config.run.steps, config.optim.lr, config.data.image_hw) == (7, 0.01, (28, 42))
    with pytest.raises(ConfigError, match=r"expected key\.path=value"):
        load_config(path, ["run.steps"])
    path.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_config(path)


def test_warmup_then_cosine_schedule() -> None:
    factor = WarmupCosine(warmup=4, total=14, min_ratio=0.1)
    assert [factor(s) for s in range(4)] == pytest.approx([0.2, 0.4, 0.6, 0.8])
    assert factor(4) == pytest.approx(1.0)
    assert factor(9) == pytest.approx(0.55)  # half-way down the cosine
    assert factor(14) == pytest.approx(0.1)
    assert factor(100) == pytest.approx(0.1)
