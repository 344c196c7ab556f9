"""GET customers and contracts: what the real sign-up form stored, only for the key's tenant, IBAN masked."""
import pytest

from tests.api.conftest import IBAN, IBAN_TYPED
from tests.conftest import hidden_inputs

SEPA = {"payment_method": "sepa", "account_holder": "Anna Berg", "iban": IBAN_TYPED.lower(), "sepa_mandate": "1"}


def test_customer_and_contract_of_a_real_signup(api, signed_up):
    contract_id = signed_up(plan="basic", email="Anna.Berg@Example.com", company="Berg GmbH", **SEPA)

    contract = api.get(f"/api/v1/contracts/{contract_id}")
    assert contract.status_code == 200
    c = contract.get_json()
    assert c["id"] == contract_id and c["plan"] == "basic" and c["status"] == "trial"
    assert (c["price"], c["currency"], c["interval"]) == ("9.90", "EUR", "month")
    assert c["trial_end"] == c["current_period_end"]

    response = api.get(f"/api/v1/customers/{c['customer_id']}")
    assert response.status_code == 200
    customer = response.get_json()
    assert customer["id"] == c["customer_id"]
    assert customer["email"] == "anna.berg@example.com"
    assert customer["fields"]["company"] == "Berg GmbH" and customer["fields"]["city"] == "Berlin"
    assert customer["locale"] == "en"
    assert [k["id"] for k in customer["contracts"]] == [contract_id]
    assert customer["contracts"][0] == c
    [method] = customer["payment_methods"]
    assert method["kind"] == "sepa" and method["is_default"] is True
    assert method["account_holder"] == "Anna Berg"
    assert method["iban"].startswith("DE89") and method["iban"].replace(" ", "").endswith("3000")
    assert "•" in method["iban"]
    assert method["mandate_reference"].startswith("DEMO-") and method["mandate_signed_on"]
    for text in (contract.get_data(as_text=True), response.get_data(as_text=True)):
        assert IBAN not in text and IBAN not in text.replace(" ", "") and "370400440532" not in text


def test_invoice_customer_has_no_bank_details(api, signed_up):
    contract = api.get(f"/api/v1/contracts/{signed_up(plan='pro')}").get_json()
    assert contract["status"] == "active" and contract["trial_end"] is None
    [method] = api.get(f"/api/v1/customers/{contract['customer_id']}").get_json()["payment_methods"]
    assert method["kind"] == "invoice" and method["iban"] is None and method["mandate_reference"] is None


@pytest.mark.parametrize("query", ["anna.berg@example.com", "ANNA.BERG@EXAMPLE.COM", "Anna.Berg@example.com", "%20anna.berg@example.com%20"])
def test_find_customer_by_email_case_insensitive(api, signed_up, query):
    contract_id = signed_up(email="anna.berg@example.com", **SEPA)
    signed_up(email="someone.else@example.com")
    response = api.get(f"/api/v1/customers?email={query}")
    assert response.status_code == 200
    [customer] = response.get_json()["data"]
    assert customer["email"] == "anna.berg@example.com"
    assert customer["contracts"][0]["id"] == contract_id
    assert customer["payment_methods"][0]["iban"].startswith("DE89")


def test_list_is_newest_first_and_limited(api, signed_up):
    ids = [signed_up(email=f"c{i}@example.com") for i in range(3)]
    data = api.get("/api/v1/customers").get_json()["data"]
    assert [c["contracts"][0]["id"] for c in data] == ids[::-1]
    assert len(api.get("/api/v1/customers?limit=2").get_json()["data"]) == 2
    assert api.get("/api/v1/customers?email=nobody@example.com").get_json() == {"data": []}


@pytest.mark.parametrize("query, field", [("limit=0", "limit"), ("limit=101", "limit"), ("limit=many", "limit"),
                                          ("email=", "email"), ("email=" + "a" * 255, "email"), ("email=a%00b", "email")])
def test_bad_query_parameters_are_422_problems(api, query, field):
    response = api.get(f"/api/v1/customers?{query}")
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == [field]


@pytest.mark.parametrize("path", [
    "/api/v1/customers/cus_doesnotexist00", "/api/v1/contracts/con_doesnotexist00",
    "/api/v1/customers/" + "x" * 300, "/api/v1/contracts/%00", "/api/v1/customers/a%00b", "/api/v1/contracts/..%2F..",
    "/api/v1/customers/%C3%A9", "/api/v1/contracts/' OR 1=1 --",
])
def test_unknown_ids_are_404_problems(api, signed_up, path):
    signed_up()
    response = api.get(path)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.get_json()["title"] == "Not Found"


def test_another_tenants_key_sees_nothing_of_demo(api, fjord_api, signed_up):
    contract_id = signed_up(email="anna.berg@example.com", **SEPA)
    customer_id = api.get(f"/api/v1/contracts/{contract_id}").get_json()["customer_id"]
    for path in (f"/api/v1/customers/{customer_id}", f"/api/v1/contracts/{contract_id}"):
        response = fjord_api.get(path)
        assert response.status_code == 404
        text = response.get_data(as_text=True)
        assert "anna" not in text.lower() and "Berg" not in text and "DE89" not in text and contract_id not in text
        # exactly what an id that never existed gets, so fjord cannot even learn that the id exists
        unknown = fjord_api.get(path[:-4] + "zzzz").get_json()
        assert response.get_json() == unknown
    for query in ("", "?email=anna.berg@example.com"):
        assert fjord_api.get(f"/api/v1/customers{query}").get_json() == {"data": []}


def test_each_tenant_sees_its_own(api, fjord_api, signed_up, client):
    signed_up()
    url = "/t/fjord/signup/mellan"
    page = client.get(url).get_data(as_text=True)
    data = {**hidden_inputs(page), "email": "sven@example.se", "first_name": "Sven", "last_name": "S", "phone": "+46 8 123 456 78",
            "street": "Gatan 1", "postal_code": "11122", "city": "Stockholm", "grind": "filter", "payment_method": "invoice",
            "consent": "1"}
    assert client.post(url, data=data).status_code == 303
    [fjord_customer] = fjord_api.get("/api/v1/customers").get_json()["data"]
    assert fjord_customer["email"] == "sven@example.se" and fjord_customer["contracts"][0]["currency"] == "SEK"
    [demo_customer] = api.get("/api/v1/customers").get_json()["data"]
    assert demo_customer["email"] == "anna@example.com"
    assert api.get(f"/api/v1/customers/{fjord_customer['id']}").status_code == 404
    assert api.get(f"/api/v1/contracts/{fjord_customer['contracts'][0]['id']}").status_code == 404


def test_unknown_api_paths_and_methods_are_problems(api):
    for method, path, status in [("GET", "/api/v1/nothing", 404), ("DELETE", "/api/v1/customers", 405),
                                 ("POST", "/api/v1/customers", 405), ("GET", "/api/v1/signup-links", 405)]:
        response = api.request(method, path)
        assert response.status_code == status
        assert response.headers["Content-Type"] == "application/problem+json"
