"""Custom fields, categories per type and `list --where` through the CLI."""

from __future__ import annotations

import csv
import io
import json

from support.cli import Gitdesk, data, refused

# --- custom fields -----------------------------------------------------------------------------

def test_custom_fields_are_typed_defaulted_and_shown_by_caption(desk: Gitdesk) -> None:
    full = desk.open("incident", "-s", "Web down", "--field", "outage_minutes=45",
                     "--field", "affected_users=department", "--field", "vendor_case=VC 4711")
    plain = desk.open("incident", "-s", "Printer")
    change = desk.open("change", "-s", "Patch", "--field", "cab_date=2026-12-03",
                       "--field", "downtime_expected=yes")
    quiet = desk.open("change", "-s", "Quiet patch")
    assert data(desk, full)["fields"] == {"affected_users": "department", "outage_minutes": 45,
                                          "vendor_case": "VC 4711"}
    assert data(desk, plain)["fields"] == {"affected_users": "one"}
    assert data(desk, change)["fields"] == {"cab_date": "2026-12-03",
                                            "downtime_expected": True}
    assert data(desk, quiet)["fields"] == {"downtime_expected": False}

    shown = desk.ok("show", full)
    for caption, value in (("Users affected", "department"), ("Outage (minutes)", "45"),
                           ("Vendor case number", "VC 4711")):
        line = next(x for x in shown.splitlines() if caption in x)
        assert line.split(caption, 1)[1].strip() == value
    assert "outage_minutes" not in shown and "affected_users" not in shown
    shown = desk.ok("show", change)
    assert "CAB meeting date" in shown and "2026-12-03" in shown
    assert next(x for x in shown.splitlines() if "Downtime expected" in x).split()[-1] == "yes"


def test_custom_fields_in_list_columns(desk: Gitdesk) -> None:
    long = desk.open("incident", "-s", "Long", "--field", "outage_minutes=120")
    short = desk.open("incident", "-s", "Short", "--field", "outage_minutes=2.5",
                      "--field", "affected_users=several")
    out = desk.ok("list", "incident", "--columns", "id,fields.outage_minutes",
                  "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {r["id"]: r["fields.outage_minutes"] for r in rows} == {long: "120", short: "2.5"}
    rows_json = json.loads(desk.ok("list", "--columns", "id,fields.outage_minutes,"
                                   "fields.affected_users", "--format", "json"))
    assert {r["id"]: (r["fields.outage_minutes"], r["fields.affected_users"])
            for r in rows_json} == {long: (120, "one"), short: (2.5, "several")}
    table = desk.ok("list", "--columns", "id,fields.outage_minutes")
    assert "fields.outage_minutes" in table and "120" in table and "2.5" in table


def test_bad_custom_field_values_are_refused_naming_the_field(desk: Gitdesk) -> None:
    incident = desk.open("incident", "-s", "x")
    change = desk.open("change", "-s", "y")
    cases = [
        ("incident", incident, "colour=red",
         ("--field colour: not a custom field of incident",
          "affected_users, outage_minutes, vendor_case")),
        ("incident", incident, "outage_minutes=lots",
         ("--field outage_minutes: 'lots' is not a number",)),
        ("incident", incident, "affected_users=planet",
         ("--field affected_users: 'planet' is not one of: one, several, department, everyone",)),
        ("change", change, "cab_date=2026-13-01",
         ("--field cab_date: '2026-13-01' is not a date",)),
        ("change", change, "cab_date=next week", ("--field cab_date",)),
        ("change", change, "downtime_expected=maybe",
         ("--field downtime_expected: 'maybe' is not true or false",)),
        ("change", change, "outage_minutes=5",
         ("not a custom field of change", "cab_date, downtime_expected")),
        ("incident", incident, "novalue", ("expected KEY=VALUE",)),
    ]
    for type_name, tid, pair, says in cases:
        refused(desk, "open", type_name, "-s", "bad", "--field", pair, code=2, says=says)
        refused(desk, "set", tid, "--field", pair, code=2, says=says)
    assert data(desk, incident)["fields"] == {"affected_users": "one"}


def test_set_field_changes_and_removes_custom_values(desk: Gitdesk) -> None:
    tid = desk.open("incident", "-s", "x", "--field", "vendor_case=VC-1")
    desk.ok("set", tid, "--field", "outage_minutes=30", "--field", "affected_users=everyone")
    assert data(desk, tid)["fields"] == {"affected_users": "everyone", "vendor_case": "VC-1",
                                         "outage_minutes": 30}
    desk.ok("set", tid, "--field", "vendor_case=")
    assert data(desk, tid)["fields"] == {"affected_users": "everyone", "outage_minutes": 30}


# --- categories ----------------------------------------------------------------------------------

def test_categories_and_subcategories_are_checked_per_type(desk: Gitdesk) -> None:
    refused(desk, "open", "incident", "-s", "x", "--category", "Bogus", code=2,
            says=("--category: 'Bogus' is not one of: Network, Hardware, Software, Access, "
                  "Email",))
    refused(desk, "open", "incident", "-s", "x", "--category", "Network",
            "--subcategory", "Printer", code=2,
            says=("--subcategory: 'Printer' is not one of: Load balancer, Firewall, DNS, LAN, "
                  "WAN, VPN",))
    refused(desk, "open", "request", "-s", "x", "--request-type", "password-reset",
            "--submitter", "Eva", "--category", "Email", code=2,
            says=("--category: 'Email' is not one of: Access, Hardware, Software",))
    refused(desk, "open", "change", "-s", "x", "--category", "Hardware", "--subcategory",
            "Laptop", code=2, says=("'Laptop' is not one of: Server, Storage",))
    laptop = desk.open("incident", "-s", "Laptop broken", "--category", "Hardware",
                       "--subcategory", "Laptop")
    assert data(desk, laptop)["subcategory"] == "Laptop"
    request = desk.open("request", "-s", "Phone", "--request-type", "new-laptop",
                        "--submitter", "Eva", "--category", "Hardware", "--subcategory", "Phone")
    assert data(desk, request)["subcategory"] == "Phone"
    refused(desk, "set", laptop, "category=Bogus", code=2, says=("'Bogus' is not one of",))
    refused(desk, "set", laptop, "subcategory=DNS", code=2,
            says=("'DNS' is not one of: Server, Laptop, Printer, Storage",))
    refused(desk, "set", laptop, "category=Network", code=2, says=("'Laptop' is not one of",))
    desk.ok("set", laptop, "category=Network", "subcategory=DNS")
    assert (data(desk, laptop)["category"], data(desk, laptop)["subcategory"]) == \
        ("Network", "DNS")


def test_a_subcategory_needs_a_category_of_the_type(desk: Gitdesk) -> None:
    """A subcategory that no category of the type has is refused, with or without
    --category (only then can it be validated)."""
    refused(desk, "open", "incident", "-s", "x", "--subcategory", "Nonsense", code=2,
            says=("--subcategory",))
    tid = desk.open("incident", "-s", "y")
    refused(desk, "set", tid, "subcategory=Nonsense", code=2, says=("subcategory",))
    assert "subcategory" not in data(desk, tid)


# --- list --where --------------------------------------------------------------------------------

def where_desk(desk: Gitdesk) -> dict[str, str]:
    """Five tickets with varied fields; returns label -> ID."""
    ids = {
        "A": desk.open("incident", "-s", "Web pages blank", "--impact", "high", "--urgency",
                       "high", "--ci", "web01", "--category", "Network", "--major",
                       "--field", "outage_minutes=45", "--field", "affected_users=department",
                       "--field", "vendor_case=VC 77"),
        "B": desk.open("incident", "-s", "Mail slow", "--ci", "mail01", "--category", "Email",
                       "--field", "outage_minutes=5"),
        "C": desk.open("incident", "-s", "Printer jam", "--impact", "low", "--urgency", "low"),
        "D": desk.open("change", "-s", "Web patch", "--cis", "web01,db01", "--services",
                       "intranet", "--risk", "high", "--field", "cab_date=2026-12-03",
                       "--field", "downtime_expected=true"),
        "E": desk.open("problem", "-s", "Leaky web", "--ci", "web02", "--category", "Network"),
    }
    desk.ok("transition", ids["C"], "pending", "--reason", "awaiting-vendor")
    return ids


WHERE_CASES = [
    ("status = new", "ABDE"),
    ("status != new", "C"),
    ("status=pending", "C"),
    ("priority in (critical, planning)", "AC"),
    ("priority IN ('critical')", "A"),
    ("outage_minutes > 10", "A"),
    ("outage_minutes > 9", "A"),
    ("fields.outage_minutes <= 5", "B"),
    ("outage_minutes >= 5 and outage_minutes < 45", "B"),
    ("outage_minutes = 45.0", "A"),
    ("summary ~ WEB", "ADE"),
    ("summary ~ 'pages blank'", "A"),
    ("ci = web01", "A"),
    ("ci = WEB01", "A"),
    ("cis = db01", "D"),
    ("cis != db01", "ABCE"),
    ("services ~ intra", "D"),
    ("type = incident and not status = pending", "AB"),
    ("type = change or type = problem and ci = web02", "DE"),
    ("(type = change or type = problem) and ci = web02", "E"),
    ("not (type = incident)", "DE"),
    ("NOT type = incident OR major = true", "ADE"),
    ("affected_users = department", "A"),
    ("affected_users in (one, several)", "BC"),
    ("fields.affected_users != one", "ADE"),
    ("cab_date >= 2026-12-01", "D"),
    ("cab_date < 2026-12-03", ""),
    ("downtime_expected = true", "D"),
    ("created >= 2000-01-01 AND type IN (problem)", "E"),
    ("vendor_case = 'VC 77'", "A"),
    ('vendor_case = "vc 77"', "A"),
    ("pending_reason = awaiting-vendor", "C"),
    ("major = true", "A"),
    ("risk = high and category = Network", ""),
    ("((status = new))", "ABDE"),
]


def test_where_expressions_select_tickets(desk: Gitdesk) -> None:
    ids = where_desk(desk)
    label = {tid: name for name, tid in ids.items()}
    for expr, expected in WHERE_CASES:
        rows = json.loads(desk.ok("list", "--where", expr, "--format", "json"))
        got = "".join(sorted(label[r["id"]] for r in rows))
        assert got == expected, f"--where {expr!r}: got {got!r}, expected {expected!r}"
    rows = json.loads(desk.ok("list", "incident", "--open", "--where", "ci ~ web",
                              "--format", "json"))
    assert [r["id"] for r in rows] == [ids["A"]]


def test_report_where_selects_what_list_where_selects(desk: Gitdesk) -> None:
    """One filter, one behaviour: custom fields (fields.NAME or the bare id), lists,
    booleans and dates select the same tickets in a report as in `list`."""
    ids = where_desk(desk)
    label = {tid: name for name, tid in ids.items()}
    for expr, expected in WHERE_CASES:
        listed = json.loads(desk.ok("list", "--where", expr, "--format", "json"))
        report = json.loads(desk.ok("report", "detail", "--where", expr, "--format", "json"))
        reported = report["sections"][0]["rows"]
        assert "".join(sorted(label[r["id"]] for r in listed)) == expected, expr
        assert "".join(sorted(label[r["id"]] for r in reported)) == expected, expr


WHERE_ERRORS = [
    ("status = = new", 10, "expected a value after '='"),
    ("(status = new", 14, "expected ')'"),
    ("status in (new, pending", 24, "expected ',' or ')'"),
    ("status @ new", 8, "expected an operator"),
    ("status = new and", 17, "expected a field name"),
    ("status = 'new", 10, "unexpected \"'\""),
    ("status = new)", 13, "unexpected ')'"),
    ("status in new", 11, "expected '(' after in"),
    ("status ! new", 8, "unexpected '!'"),
    ("priority = high or = low", 20, "expected a field name"),
    ("   ", 4, "empty expression"),
    ("nothing = here", 1, "unknown field 'nothing'"),
    ("status = new and fields.nothing = here", 18, "unknown field 'fields.nothing'"),
]


def test_where_errors_point_at_the_bad_token(desk: Gitdesk) -> None:
    desk.open("incident", "-s", "x")
    for expr, position, message in WHERE_ERRORS:
        run = desk("list", "--where", expr)
        assert run.exit_code == 2, f"{expr!r}: exit {run.exit_code}"
        assert run.stdout == ""
        assert message in run.stderr, f"{expr!r}: {run.stderr}"
        assert f"at position {position}" in run.stderr, f"{expr!r}: {run.stderr}"
        lines = run.stderr.splitlines()
        shown = lines.index(f"  {expr}")
        caret = lines[shown + 1]
        assert caret.strip() == "^" and caret.index("^") == 2 + position - 1, \
            f"{expr!r}: caret under column {caret.index('^') - 1}, expected {position}"


def test_an_empty_where_is_refused(desk: Gitdesk) -> None:
    desk.open("incident", "-s", "x")
    run = desk("list", "--where", "")
    assert run.exit_code == 2, f"`list --where ''` listed: {run.stdout}"
    assert "empty expression" in run.stderr
