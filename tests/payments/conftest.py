"""Fixtures for payment tests: SEPA and bank-transfer customers, a second SEPA tenant,
and a reader for pain.008 files."""
import shutil
from datetime import date
from pathlib import Path
from xml.etree import ElementTree

import pytest
import sepaxml
import xmlschema

from tests.tenants.test_loader import edit
from widget_server.billing.contracts import PaymentChoice
from widget_server.billing.run import bill_due

from .fake_stripe import fake_stripe  # noqa: F401  (fixture: a fake Stripe API and Stripe.js on 127.0.0.1)

ANNA_IBAN = "DE89370400440532013000"
BERT_IBAN = "DE02500105170137075030"
DEMO_CREDITOR_IBAN = "DE02120300000000202051"
DEMO_CREDITOR_ID = "DE98ZZZ09999999999"
GYM_CREDITOR_ID = "DE79ZZZ01234567890"
GYM_CREDITOR_IBAN = "DE75512108001245126199"
SCHEMAS = Path(sepaxml.__file__).parent / "schemas"


def sepa_choice(holder="Anna Berg", iban=ANNA_IBAN, bic="COBADEFFXXX"):
    return PaymentChoice(kind="sepa", account_holder=holder, iban=iban, bic=bic)


@pytest.fixture
def gym(themes_dir):
    """A second tenant with SEPA (a copy of demo with its own prefix, creditor and account)."""
    shutil.copytree(themes_dir / "demo", themes_dir / "gym")
    theme = themes_dir / "gym" / "theme.toml"
    edit(theme, 'invoice_prefix = "DEMO"', 'invoice_prefix = "GYM"')
    edit(theme, f'creditor_id = "{DEMO_CREDITOR_ID}"', f'creditor_id = "{GYM_CREDITOR_ID}"')
    edit(theme, 'creditor_name = "Acme Fitness GmbH"', 'creditor_name = "Gym Club GmbH"')
    edit(theme, f'iban = "{DEMO_CREDITOR_IBAN}"', f'iban = "{GYM_CREDITOR_IBAN}"')
    yield "gym"


@pytest.fixture
def customer(sign_up):
    """sign_up with a payment choice and a unique key: customer(on, payment=..., tenant=...)."""
    counter = iter(range(1, 1000))

    def make(on=date(2026, 1, 1), plan_id="pro", tenant="demo", payment=None):
        return sign_up(plan_id, on=on, tenant=tenant, key=f"pay{next(counter)}", payment=payment or sepa_choice())

    yield make


@pytest.fixture
def bill(session, tenants):
    def run(up_to):
        bill_due(session, tenants, up_to)
        session.commit()
    yield run


def validate(xml: bytes, schema: str = "pain.008.001.08") -> None:
    """Validate against the official XSD that sepaxml ships, independently of sepaxml's own check."""
    xmlschema.XMLSchema(str(SCHEMAS / f"{schema}.xsd")).validate(xml.decode("utf-8"))


def read_pain008(xml: bytes) -> dict:
    """Header, creditor blocks and transactions of a pain.008 file as plain values."""
    root = ElementTree.fromstring(xml)
    ns = {"p": root.tag[1:].split("}")[0]}

    def text(node, path):
        found = node.find(path, ns)
        return found.text if found is not None else None

    header = root.find("p:CstmrDrctDbtInitn/p:GrpHdr", ns)
    blocks, transactions = [], []
    for block in root.findall("p:CstmrDrctDbtInitn/p:PmtInf", ns):
        info = {
            "sequence_type": text(block, "p:PmtTpInf/p:SeqTp"), "local_instrument": text(block, "p:PmtTpInf/p:LclInstrm/p:Cd"),
            "collection_date": text(block, "p:ReqdColltnDt"), "creditor_name": text(block, "p:Cdtr/p:Nm"),
            "creditor_iban": text(block, "p:CdtrAcct/p:Id/p:IBAN"),
            "creditor_id": text(block, "p:CdtrSchmeId/p:Id/p:PrvtId/p:Othr/p:Id"),
            "count": int(text(block, "p:NbOfTxs")), "sum": text(block, "p:CtrlSum"),
        }
        blocks.append(info)
        for tx in block.findall("p:DrctDbtTxInf", ns):
            amount = tx.find("p:InstdAmt", ns)
            transactions.append({
                "end_to_end_id": text(tx, "p:PmtId/p:EndToEndId"), "amount": amount.text, "currency": amount.get("Ccy"),
                "mandate_id": text(tx, "p:DrctDbtTx/p:MndtRltdInf/p:MndtId"),
                "mandate_signed_on": text(tx, "p:DrctDbtTx/p:MndtRltdInf/p:DtOfSgntr"),
                "debtor_name": text(tx, "p:Dbtr/p:Nm"), "debtor_iban": text(tx, "p:DbtrAcct/p:Id/p:IBAN"),
                "debtor_bic": text(tx, "p:DbtrAgt/p:FinInstnId/p:BICFI") or text(tx, "p:DbtrAgt/p:FinInstnId/p:BIC"),
                "remittance": text(tx, "p:RmtInf/p:Ustrd"),
                "sequence_type": info["sequence_type"], "collection_date": info["collection_date"],
                "creditor_id": info["creditor_id"], "creditor_iban": info["creditor_iban"],
            })
    return {
        "namespace": ns["p"], "message_id": text(header, "p:MsgId"), "count": int(text(header, "p:NbOfTxs")),
        "sum": text(header, "p:CtrlSum"), "initiating_party": text(header, "p:InitgPty/p:Nm"),
        "blocks": blocks, "transactions": transactions,
    }
