"""Hostile input: arbitrary YAML documents and arbitrary bytes never crash `validate`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.cli import run

KEYS = st.sampled_from(
    [
        "version", "imports", "defaults", "accounts", "name", "destination", "source", "uri",
        "bucket_region", "role_arn", "start_event_time", "end_event_time", "retry",
        "max_attempts", "stopped", "import_id", "allow_overlap", "Destinations",
        "ImportSource", "S3", "S3LocationUri", "StartEventTime", "EndEventTime", "ImportId",
    ]
)  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True),
    st.text(max_size=40),
    st.sampled_from(
        [
            "arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/EXAMPLE-0000",
            "s3://trail-logs/AWSLogs/",
            "2024-01-01T00:00:00Z",
            "2024-01-01",
            "1970-01-01T00:00:00",
            "",
            "1",
        ]
    ),
)
DOCUMENTS = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(KEYS, st.text(max_size=8)), children, max_size=5),
    ),
    max_leaves=30,
)
SETTINGS = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def _validate(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exited:
        run(["validate", str(path)])
    out, err = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else -1), out + err


def _assert_clean(code: int, output: str) -> None:
    assert code in (0, 1)
    assert "Traceback" not in output
    assert "internal error" not in output


@SETTINGS
@given(document=DOCUMENTS)
def test_arbitrary_yaml_documents(
    document: object, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "m.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True))
    _assert_clean(*_validate(path, capsys))


@SETTINGS
@given(document=DOCUMENTS)
def test_arbitrary_documents_under_imports(
    document: object, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "m.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "imports": [document, document]}))
    _assert_clean(*_validate(path, capsys))


@SETTINGS
@given(raw=st.binary(max_size=300))
def test_arbitrary_bytes(
    raw: bytes, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "m.yaml"
    path.write_bytes(raw)
    _assert_clean(*_validate(path, capsys))


@SETTINGS
@given(
    text=st.text(
        alphabet=st.sampled_from(list("version: 1\nimports:-[]{}&*!|>'\"#%@`,?")), max_size=120
    )
)
def test_yaml_punctuation_soup(
    text: str, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "m.yaml"
    path.write_text(text)
    _assert_clean(*_validate(path, capsys))
