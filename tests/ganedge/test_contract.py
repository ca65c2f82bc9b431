import json

import pytest

from ganedge.contract import (
    FORMAT_VERSION,
    KEY_CONTRACT,
    KEY_FORMAT_VERSION,
    ModelContract,
)
from ganedge.errors import ContractError

CONTRACT = ModelContract(latent_dim=64, channels=1, height=32, width=32)


def test_round_trip_through_metadata() -> None:
    props = CONTRACT.to_metadata()
    assert props[KEY_FORMAT_VERSION] == "1"  # direct models stay readable by version-1 runtimes
    assert ModelContract.from_metadata(props) == CONTRACT


STYLEGAN = ModelContract(latent_dim=8, channels=3, height=16, width=16, num_ws=6, w_dim=4,
                         w_avg=(0.5, -1.25, 3e-8, 2.0))


def test_stylegan_contract_round_trips_as_newest_format() -> None:
    props = STYLEGAN.to_metadata()
    assert props[KEY_FORMAT_VERSION] == str(FORMAT_VERSION) == "2"
    back = ModelContract.from_metadata(props)
    assert back == STYLEGAN and back.is_stylegan and not CONTRACT.is_stylegan


@pytest.mark.parametrize(("w_avg", "problem"), [((0.0,) * 3, "w_avg"),
                                                 ((0.0, 0.0, float("nan"), 0.0), "w_avg"),
                                                 (("a", 0.0, 0.0, 0.0), "w_avg")])
def test_stylegan_contract_checks_w_avg(w_avg: tuple, problem: str) -> None:
    data = {**json.loads(STYLEGAN.to_metadata()[KEY_CONTRACT]), "w_avg": list(w_avg)}
    with pytest.raises(ContractError, match=problem):
        ModelContract.from_dict(data)


def test_defaults_describe_float_nchw_in_minus_one_to_one() -> None:
    assert (CONTRACT.input_name, CONTRACT.output_name) == ("z", "images")
    assert CONTRACT.value_range == (-1.0, 1.0)
    assert CONTRACT.output_layout == "NCHW" and CONTRACT.latent_distribution == "standard_normal"
    assert not CONTRACT.conditional


def test_missing_keys_say_how_to_fix() -> None:
    with pytest.raises(ContractError,
                       match="latent_dim: not given, and the model has no ganedge contract"):
        ModelContract.from_metadata({"producer": "someone"})


def test_malformed_json_is_rejected() -> None:
    props = {**CONTRACT.to_metadata(), KEY_CONTRACT: "{not json"}
    with pytest.raises(ContractError, match="malformed JSON"):
        ModelContract.from_metadata(props)


def test_newer_format_asks_for_upgrade() -> None:
    props = {**CONTRACT.to_metadata(), KEY_FORMAT_VERSION: str(FORMAT_VERSION + 1)}
    with pytest.raises(ContractError, match="upgrade ganedge"):
        ModelContract.from_metadata(props)


def test_non_integer_version_is_rejected() -> None:
    with pytest.raises(ContractError, match="not an integer"):
        ModelContract.from_metadata({**CONTRACT.to_metadata(), KEY_FORMAT_VERSION: "one"})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"latent_dim": 0}, r"latent_dim: must be in \[1, 65,536\] \(got 0\)"),
        ({"channels": 2}, "channels: must be 1 or 3"),
        ({"output_dtype": "int16"}, "output_dtype"),
        ({"latent_distribution": "uniform"}, "latent_distribution"),
        ({"extra": 1}, "unknown fields"),
    ],
)
def test_invalid_fields_are_rejected(change: dict, message: str) -> None:
    data = {**json.loads(CONTRACT.to_metadata()[KEY_CONTRACT]), **change}
    props = {**CONTRACT.to_metadata(), KEY_CONTRACT: json.dumps(data)}
    with pytest.raises(ContractError, match=message):
        ModelContract.from_metadata(props)


def test_missing_field_is_rejected() -> None:
    data = json.loads(CONTRACT.to_metadata()[KEY_CONTRACT])
    del data["latent_dim"]
    with pytest.raises(ContractError, match="latent_dim"):
        ModelContract.from_metadata({**CONTRACT.to_metadata(), KEY_CONTRACT: json.dumps(data)})
