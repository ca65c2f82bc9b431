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
    assert props[KEY_FORMAT_VERSION] == str(FORMAT_VERSION)
    assert ModelContract.from_metadata(props) == CONTRACT


def test_defaults_describe_float_nchw_in_minus_one_to_one() -> None:
    assert (CONTRACT.input_name, CONTRACT.output_name) == ("z", "images")
    assert CONTRACT.value_range == (-1.0, 1.0)
    assert CONTRACT.output_layout == "NCHW" and CONTRACT.latent_distribution == "standard_normal"
    assert not CONTRACT.conditional


def test_missing_keys_say_how_to_fix() -> None:
    with pytest.raises(ContractError, match="latent_dim: not given, and the model has no ganedge contract"):
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
