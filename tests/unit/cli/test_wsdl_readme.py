"""The WSDL examples of the README, run as the README shows them."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from omniout.cli.main import app
from omniout.payload import SoapSettings, WsdlFormat, payload_format
from omniout.payload.faults import SOAP12
from tests.wsdl import ERP, ORDERS_WSDL

ROOT = Path(__file__).resolve().parents[3]
README = ROOT / "README.md"
_BLOCK = re.compile(r"<!-- example: ([a-z-]+) -->\n```[a-z]*\n(.*?)```", re.S)


def examples() -> dict[str, str]:
    return dict(_BLOCK.findall(README.read_text(encoding="utf-8")))


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "schemas").symlink_to(ROOT / "schemas")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def check(workdir: Path, config: str, event: str, *, wsdl: bool = True) -> str:
    if wsdl:
        (workdir / "erp-orders.wsdl").symlink_to(ORDERS_WSDL)
    (workdir / "omniout.yaml").write_text(config, encoding="utf-8")
    (workdir / "order.json").write_text(event, encoding="utf-8")
    args = ["check", "-c", "omniout.yaml", "--route", "order-to-erp"]
    result = CliRunner().invoke(app, [*args, "--event", "order.json"])
    return f"exit {result.exit_code}\n{result.output}"


def test_the_page_shows_the_wsdl_the_tests_use() -> None:
    assert examples()["wsdl-file"] == ORDERS_WSDL.read_text(encoding="utf-8")


def test_check_prints_the_envelope_the_page_shows(workdir: Path) -> None:
    page = examples()

    output = check(workdir, page["wsdl-config"], page["order-event"])

    assert output == "exit 0\n" + page["wsdl-output"]


def test_a_misfit_event_is_refused_as_the_page_says(workdir: Path) -> None:
    page = examples()
    event = orjson.loads(page["order-event"]) | {"Currency_Iso_Code__c": "EURO"}

    output = check(workdir, page["wsdl-config"], orjson.dumps(event).decode())

    assert output == "exit 1\n" + page["wsdl-misfit"]


@pytest.mark.parametrize(
    ("line", "old", "new", "wsdl"),
    [
        (0, "", "", False),
        (1, "        port: OrderIntakeSoap12\n", "", True),
        (2, "port: OrderIntakeSoap12", "port: OrderIntakeSoap13", True),
        (3, "operation: SubmitOrder", "operation: CancelOrder", True),
    ],
)
def test_config_errors_read_as_the_page_says(
    workdir: Path, line: int, old: str, new: str, wsdl: bool
) -> None:
    page = examples()
    config = page["wsdl-config"].replace(old, new)

    output = check(workdir, config, page["order-event"], wsdl=wsdl)

    expected = page["wsdl-errors"].splitlines()[line]
    assert output == f"exit 2\nomniout: error: {expected}\n"


def test_the_answer_is_read_as_the_page_shows() -> None:
    port = "OrderIntakeSoap12"
    soap = SoapSettings(wsdl=ORDERS_WSDL, operation="SubmitOrder", port=port)
    wsdl = payload_format("soap", soap)
    assert isinstance(wsdl, WsdlFormat)
    answer = (
        f'<e:Envelope xmlns:e="{SOAP12}"><e:Body>'
        f'<SubmitOrderResponse xmlns="{ERP}"><Ticket>T-00001042</Ticket>'
        "<AcceptedAt>2025-11-24T17:00:00Z</AcceptedAt><Lines>2</Lines>"
        "</SubmitOrderResponse></e:Body></e:Envelope>"
    ).encode()

    assert wsdl.reply_reader(answer) == orjson.loads(examples()["wsdl-response"])
