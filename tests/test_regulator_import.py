"""12378 import/export: XLSX and CSV (UTF-8, GBK) files with good and bad rows, per-row errors, duplicates
on re-import, overlapping and concurrent imports, whole-file refusals (size, type, columns), org scoping,
and the export of handling results after a reply through the workflow.

Every test makes its own users and complaint numbers, so rows other tests left behind never count.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import random
import uuid
from datetime import datetime, time
from typing import Any

import httpx
import openpyxl
import pytest
from sqlalchemy import select

from backend.audit.models import AuditRecord
from backend.auth.models import User
from backend.auth.permissions import Role
from backend.directory.identity import id_check_digit
from backend.orgs.scope import Scope
from backend.regulator.models import RegulatorComplaint
from backend.tickets.models import Ticket
from backend.tickets.numbering import SHANGHAI
from tests.conftest import Stack

HEADERS = ["投诉编号", "来源", "接收时间", "转送时间", "办理时限", "投诉人姓名", "证件号", "联系电话", "被投诉机构",
           "涉及险种", "保单号", "投诉事由", "诉求", "附件", "重复投诉标识"]
FEEDBACK = ["处理结果", "是否满足诉求", "告知时间", "告知方式"]
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"


def number() -> str:
    return f"12378-{uuid.uuid4().hex[:12].upper()}"


def phone() -> str:
    return "139" + "".join(random.choices("0123456789", k=8))


def id_number() -> str:
    first17 = f"110105198{random.randint(0, 9)}{random.randint(1, 12):02d}{random.randint(1, 28):02d}" \
              f"{random.randint(0, 999):03d}"
    return first17 + id_check_digit(first17)


def bad_checksum(valid: str) -> str:
    return valid[:17] + ("0" if valid[17] != "0" else "1")


def row(regulator_number: str, **over: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "投诉编号": regulator_number, "来源": "12378", "接收时间": "2026-11-20 10:00", "转送时间": "2026/11/21",
        "办理时限": "2026年12月05日", "投诉人姓名": "王小明", "证件号": id_number(), "联系电话": phone(),
        "被投诉机构": "", "涉及险种": "机动车辆保险", "保单号": "PDAA202611000001",
        "投诉事由": "理赔纠纷：理赔时效过长，报案一个月仍未赔付", "诉求": "尽快赔付", "附件": "投诉信.pdf",
        "重复投诉标识": "否"}
    values.update(over)
    return values


def xlsx(rows: list[dict[str, Any]], headers: list[str] = HEADERS) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(headers)
    for r in rows:
        ws.append([r.get(h) for h in headers])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def csv_file(rows: list[dict[str, Any]], encoding: str, headers: list[str] = HEADERS) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows([["" if r.get(h) is None else r.get(h) for h in headers] for r in rows])
    return out.getvalue().encode(encoding)


async def user(stack: Stack, role: Role, org: str) -> str:
    return await stack.add_user(f"rg_{role.value}_{uuid.uuid4().hex[:8]}", role, stack.orgs[org])


async def upload(stack: Stack, who: str, data: bytes, name: str = "12378.xlsx", *, mapping: dict[str, str] | None = None,
                 dry_run: bool = False) -> httpx.Response:
    form = {"dry_run": "true" if dry_run else "false"}
    if mapping is not None:
        form["mapping"] = json.dumps(mapping, ensure_ascii=False)
    return await stack.post(who, "/api/regulator/imports", files={"file": (name, data, "application/octet-stream")},
                            data=form)


async def imported(stack: Stack, numbers: list[str]) -> dict[str, tuple[RegulatorComplaint, Ticket]]:
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        found = (await s.execute(select(RegulatorComplaint, Ticket).join(Ticket, Ticket.id == RegulatorComplaint.ticket_id)
                                 .where(RegulatorComplaint.regulator_number.in_(numbers)))).all()
    return {c.regulator_number: (c, t) for c, t in found}


def end_of(day: str) -> datetime:
    return datetime.combine(datetime.strptime(day, "%Y-%m-%d").date(), time(23, 59, 59), tzinfo=SHANGHAI)


# --- the acceptance: good rows, bad rows, GBK, re-import


async def test_given_a_gbk_csv_with_good_and_bad_rows_when_imported_twice_then_counts_errors_and_no_duplicates(
        stack: Stack) -> None:
    handler = await user(stack, Role.complaint_handler, "branch")
    good = [number() for _ in range(3)]
    bad_id, no_name, bad_date, no_contact = number(), number(), number(), number()
    rows = [row(good[0]), row(bad_id, 证件号=bad_checksum(id_number())), row(good[1], 办理时限=""),
            row(no_name, 投诉人姓名=""), row(bad_date, 接收时间="2026-13-45"), row(good[2], 证件号=""),
            row(no_contact, 证件号="", 联系电话="")]
    data = csv_file(rows, "gbk")

    r = await upload(stack, handler, data, "转办投诉.csv")
    assert r.status_code == 201, r.text
    report = r.json()
    assert (report["encoding"], report["rows"], report["imported"], report["duplicates"], report["error_rows"]) == \
        ("gbk", 7, 3, 0, 4)
    errors = {(e["row"], e["column"]): e["message"] for e in report["errors"]}
    assert errors == {(3, "证件号"): "身份证号码校验位错误", (5, "投诉人姓名"): "投诉人姓名不能为空",
                      (6, "接收时间"): errors[(6, "接收时间")], (8, "联系电话"): "联系电话和证件号至少填写一项"}
    assert "日期" in errors[(6, "接收时间")]

    found = await imported(stack, good + [bad_id, no_name, bad_date, no_contact])
    assert set(found) == set(good)
    for n in good:
        complaint, ticket = found[n]
        assert (ticket.type, ticket.channel, ticket.status) == ("complaint", "regulator_12378", "open")
        assert ticket.submitted_at is not None and ticket.org_id == stack.orgs["branch"].id == complaint.org_id
        assert ticket.details["cause"] == "claims" and ticket.details["sub_cause"] == "claim_too_slow"
        assert ticket.details["line_of_business"] == "motor"
        assert ticket.received_at == datetime(2026, 11, 21, tzinfo=SHANGHAI)  # 转送时间: when the insurer got it
        assert complaint.received_at == datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)
        assert complaint.import_batch_id == report["batch_id"] and complaint.raw["附件"] == "投诉信.pdf"
    assert found[good[0]][1].decision_due_at == end_of("2026-12-05")  # the regulator's 到期日
    assert found[good[0]][1].priority == 2  # regulator-transferred complaints come first
    assert found[good[1]][1].decision_due_at == end_of("2026-12-06")  # no 到期日: received + 15 days
    assert found[good[2]][1].complainant_id_number is None
    # Entered the workflow as a submitted registration does: the submit record and an open work item.
    timeline = await stack.get(handler, f"/api/tickets/{found[good[0]][1].id}/timeline")
    assert [e["action"] for e in timeline.json()] == ["submit"]

    again = await upload(stack, handler, data, "转办投诉.csv")
    assert again.status_code == 201, again.text
    second = again.json()
    assert (second["rows"], second["imported"], second["duplicates"], second["error_rows"]) == (7, 0, 3, 4)
    assert second["duplicate_rows"] == [2, 4, 7]
    assert len(await imported(stack, good)) == 3

    batch = await stack.get(handler, f"/api/regulator/imports/{report['batch_id']}")
    assert batch.status_code == 200, batch.text
    assert (batch.json()["imported"], batch.json()["error_rows"], len(batch.json()["errors"])) == (3, 4, 4)
    listed = await stack.get(handler, "/api/regulator/imports")
    assert {report["batch_id"], second["batch_id"]} <= {b["id"] for b in listed.json()}


@pytest.mark.parametrize("kind", ["xlsx", "utf-8", "utf-8-sig", "gbk"])
async def test_given_each_file_format_when_imported_then_the_rows_are_read_alike(stack: Stack, kind: str) -> None:
    handler = await user(stack, Role.complaint_handler, "branch")
    numbers = [number(), number()]
    rows = [row(numbers[0], 接收时间="2026年11月20日 09:30"), row(numbers[1], 办理时限="2026-12-01")]
    if kind == "xlsx":
        rows[1]["接收时间"] = datetime(2026, 11, 19, 14, 0)  # an Excel date cell
        rows[1]["联系电话"] = int(rows[1]["联系电话"])  # phone typed in as a number
        data, name = xlsx(rows), "12378.xlsx"
    else:
        data, name = csv_file(rows, kind), "12378.csv"
    r = await upload(stack, handler, data, name)
    assert r.status_code == 201, r.text
    assert (r.json()["encoding"], r.json()["imported"], r.json()["errors"]) == (kind, 2, [])
    found = await imported(stack, numbers)
    assert found[numbers[0]][0].received_at == datetime(2026, 11, 20, 9, 30, tzinfo=SHANGHAI)
    assert found[numbers[1]][1].decision_due_at == end_of("2026-12-01")
    if kind == "xlsx":
        assert found[numbers[1]][0].received_at == datetime(2026, 11, 19, 14, 0, tzinfo=SHANGHAI)
        assert found[numbers[1]][1].complainant_phone == str(rows[1]["联系电话"])


async def test_given_an_overlapping_second_file_when_imported_then_only_the_new_numbers_are_added(
        stack: Stack) -> None:
    handler = await user(stack, Role.complaint_handler, "branch")
    a, b, c, d = number(), number(), number(), number()
    first = await upload(stack, handler, xlsx([row(a), row(b)]))
    assert first.json()["imported"] == 2
    second = await upload(stack, handler, xlsx([row(b), row(c), row(a), row(d)]))
    assert second.status_code == 201, second.text
    assert (second.json()["imported"], second.json()["duplicates"], second.json()["duplicate_rows"]) == (2, 2, [2, 4])
    found = await imported(stack, [a, b, c, d])
    assert len(found) == 4
    assert found[c][0].import_batch_id == found[d][0].import_batch_id == second.json()["batch_id"]
    assert found[a][0].import_batch_id == first.json()["batch_id"]


async def test_given_two_concurrent_imports_of_one_file_then_each_number_is_imported_once(stack: Stack) -> None:
    one = await user(stack, Role.complaint_handler, "branch")
    two = await user(stack, Role.complaint_handler, "branch")
    numbers = [number() for _ in range(6)]
    data = xlsx([row(n) for n in numbers])
    await stack.token(one)  # logged in beforehand, so the two imports really overlap
    await stack.token(two)
    results = await asyncio.gather(upload(stack, one, data), upload(stack, two, data))
    assert [r.status_code for r in results] == [201, 201], [r.text for r in results]
    assert sum(r.json()["imported"] for r in results) == 6
    assert sum(r.json()["duplicates"] for r in results) == 6
    found = await imported(stack, numbers)
    assert len(found) == 6 and len({t.id for _, t in found.values()}) == 6


async def test_given_the_same_number_twice_in_a_file_then_the_second_row_is_refused(stack: Stack) -> None:
    handler = await user(stack, Role.complaint_handler, "branch")
    n = number()
    r = await upload(stack, handler, xlsx([row(n), row(n)]))
    assert (r.json()["imported"], r.json()["error_rows"]) == (1, 1)
    assert r.json()["errors"][0]["row"] == 3 and r.json()["errors"][0]["column"] == "投诉编号"
    assert "重复" in r.json()["errors"][0]["message"]


async def test_given_row_level_mistakes_when_imported_then_each_names_its_column_in_chinese(stack: Stack) -> None:
    handler = await user(stack, Role.complaint_handler, "branch")
    rows = [row(number(), 涉及险种="太空险"), row(number(), 办理时限="2026-11-01"),
            row(number(), 联系电话="12345"), row(number(), 重复投诉标识="也许"),
            row(number(), 投诉事由="对服务很不满意"), row(number(), 来源="传真")]
    r = await upload(stack, handler, xlsx(rows))
    assert r.json()["imported"] == 0 and r.json()["error_rows"] == 6
    columns = {e["row"]: e["column"] for e in r.json()["errors"]}
    assert columns == {2: "涉及险种", 3: "办理时限", 4: "联系电话", 5: "重复投诉标识", 6: "投诉事由", 7: "来源"}
    assert "太空险" in r.json()["errors"][0]["message"]
    assert r.json()["errors"][1]["message"] == "到期日早于接收时间"


async def test_given_a_dry_run_then_the_report_is_complete_and_nothing_is_written(stack: Stack) -> None:
    handler = await user(stack, Role.complaint_handler, "branch")
    numbers = [number(), number()]
    r = await upload(stack, handler, xlsx([row(numbers[0]), row(numbers[1], 投诉人姓名="")]), dry_run=True)
    assert r.status_code == 200, r.text
    assert (r.json()["dry_run"], r.json()["batch_id"], r.json()["imported"], r.json()["error_rows"]) == \
        (True, None, 1, 1)
    assert await imported(stack, numbers) == {}


async def test_given_a_mapping_for_other_headers_when_imported_then_the_columns_are_found(stack: Stack) -> None:
    handler = await user(stack, Role.complaint_handler, "branch")
    n = number()
    headers = ["监管单号", "客户名称", "手机", "事由说明"]
    data = xlsx([{"监管单号": n, "客户名称": "赵六", "手机": phone(), "事由说明": "退保纠纷，退保金额扣费过高"}], headers)
    refused = await upload(stack, handler, data)
    assert refused.status_code == 422
    r = await upload(stack, handler, data, mapping={"regulator_number": "监管单号", "complainant_name": "客户名称",
                                                    "subject": "事由说明"})
    assert r.status_code == 201, r.text
    assert r.json()["imported"] == 1
    assert (await imported(stack, [n]))[n][1].details["cause"] == "surrender"
    unknown = await upload(stack, handler, data, mapping={"number": "监管单号"})
    assert unknown.status_code == 422 and "number" in unknown.json()["detail"]


# --- whole-file refusals


async def test_given_missing_columns_then_422_naming_them_and_nothing_written(stack: Stack) -> None:
    handler = await user(stack, Role.complaint_handler, "branch")
    n = number()
    headers = ["投诉编号", "来源", "证件号"]
    r = await upload(stack, handler, csv_file([row(n)], "utf-8", headers), "a.csv")
    assert r.status_code == 422, r.text
    assert r.json()["missing_columns"] == ["投诉人姓名", "投诉事由"]
    assert "投诉人姓名" in r.json()["detail"] and "投诉事由" in r.json()["detail"]
    assert await imported(stack, [n]) == {}


async def test_given_a_file_over_the_limit_then_413_and_nothing_written(stack: Stack,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    handler = await user(stack, Role.complaint_handler, "branch")
    numbers = [number() for _ in range(30)]
    data = csv_file([row(n) for n in numbers], "utf-8")
    monkeypatch.setattr(stack.ctx.settings, "import_max_bytes", len(data) - 1)
    r = await upload(stack, handler, data, "big.csv")
    assert r.status_code == 413, r.text
    assert await imported(stack, numbers) == {}


async def test_given_a_file_larger_than_a_json_body_may_be_when_under_the_import_limit_then_imported(
        stack: Stack) -> None:
    handler = await user(stack, Role.complaint_handler, "branch")
    numbers = [number() for _ in range(20)]
    data = csv_file([row(n, 诉求="请求全额赔付并说明理由。" * 130) for n in numbers], "utf-8")
    assert stack.ctx.settings.max_body_bytes < len(data) < stack.ctx.settings.import_max_bytes
    r = await upload(stack, handler, data, "long.csv")
    assert r.status_code == 201, r.text
    assert r.json()["imported"] == 20


async def test_given_a_png_named_xlsx_or_bytes_that_are_no_text_then_422(stack: Stack) -> None:
    handler = await user(stack, Role.complaint_handler, "branch")
    for data, name in ((PNG, "12378.xlsx"), (bytes(range(256)) * 4, "12378.csv")):
        r = await upload(stack, handler, data, name)
        assert r.status_code == 422, r.text
        assert r.json()["type"] == "urn:lianluo:problem:unreadable-file"


async def test_given_a_user_without_import_permission_then_403(stack: Stack) -> None:
    agent = await user(stack, Role.agent, "branch")
    r = await upload(stack, agent, xlsx([row(number())]))
    assert r.status_code == 403
    assert (await stack.get(agent, "/api/regulator/export")).status_code == 403


# --- scoping


async def test_given_a_branch_importer_then_rows_go_to_the_named_org_in_its_subtree_and_never_another_branch(
        stack: Stack) -> None:
    handler = await user(stack, Role.complaint_handler, "branch")
    outlet, elsewhere, own = number(), number(), number()
    rows = [row(outlet, 被投诉机构=stack.orgs["outlet"].name), row(elsewhere, 被投诉机构=stack.orgs["other_branch"].code),
            row(own, 被投诉机构="")]
    r = await upload(stack, handler, xlsx(rows))
    assert (r.json()["imported"], r.json()["error_rows"]) == (2, 1)
    assert r.json()["errors"] == [{"row": 3, "column": "被投诉机构",
                                   "message": f"机构「{stack.orgs['other_branch'].code}」不在您的管辖范围内"}]
    found = await imported(stack, [outlet, elsewhere, own])
    assert found[outlet][0].org_id == found[outlet][1].org_id == stack.orgs["outlet"].id
    assert found[outlet][1].details["respondent"] == {"org_id": stack.orgs["outlet"].id}
    assert found[own][1].org_id == stack.orgs["branch"].id and elsewhere not in found

    other = await user(stack, Role.org_manager, "other_branch")
    theirs = await stack.get(other, "/api/regulator/export", params={"format": "csv"})
    assert theirs.status_code == 200 and outlet not in theirs.content.decode("gbk")
    assert r.json()["batch_id"] not in {b["id"] for b in (await stack.get(other, "/api/regulator/imports")).json()}
    assert (await stack.get(other, f"/api/regulator/imports/{r.json()['batch_id']}")).status_code == 404
    ours = await stack.get(handler, "/api/regulator/export", params={"format": "csv", "batch": r.json()["batch_id"]})
    assert {outlet, own} <= {line[0] for line in csv.reader(io.StringIO(ours.content.decode("gbk")))}


# --- export


def xlsx_rows(data: bytes) -> list[list[Any]]:
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    return [["" if v is None else v for v in r] for r in wb.worksheets[0].iter_rows(values_only=True)]


async def test_given_a_reply_through_the_workflow_when_exported_then_the_feedback_columns_show_it(
        stack: Stack) -> None:
    importer = await user(stack, Role.complaint_handler, "branch")
    n, untouched = number(), number()
    values = row(n, 被投诉机构=stack.orgs["central"].code)
    r = await upload(stack, importer, xlsx([values, row(untouched)]))
    assert r.json()["imported"] == 2, r.text
    ticket = (await imported(stack, [n]))[n][1]
    handler = await user(stack, Role.complaint_handler, "central")
    central_manager = await user(stack, Role.org_manager, "central")
    reply = {"method": "phone", "told_at": "2026-11-25T10:00:00+08:00", "result": "已赔付 3,200 元，客户认可",
             "satisfied": True}
    version = ticket.version
    for who, action, fields in ((handler, "propose", {"opinion": "拟同意赔付"}), (central_manager, "approve", {}),
                                (handler, "reply", {"reply": reply, "opinion": "已电话告知"})):
        acted = await stack.post(who, f"/api/tickets/{ticket.id}/actions",
                                 json={"action": action, "version": version, **fields})
        assert acted.status_code == 200, acted.text
        version = acted.json()["version"]

    manager = await user(stack, Role.org_manager, "branch")  # may import and export; PII stays masked
    exported = await stack.get(manager, "/api/regulator/export", params={"batch": r.json()["batch_id"]})
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"].startswith("application/vnd.openxmlformats")
    table = xlsx_rows(exported.content)
    assert table[0] == HEADERS[:4] + ["到期日"] + HEADERS[5:] + FEEDBACK
    lines = {line[0]: dict(zip(table[0], line, strict=True)) for line in table[1:]}
    assert set(lines) == {n, untouched}
    got = lines[n]
    assert (got["处理结果"], got["是否满足诉求"], got["告知时间"], got["告知方式"]) == \
        ("已赔付 3,200 元，客户认可", "是", "2026-11-25 10:00", "电话")
    assert (got["到期日"], got["接收时间"], got["被投诉机构"], got["涉及险种"]) == \
        ("2026-12-05", "2026-11-20 10:00", stack.orgs["central"].name, "机动车辆保险")
    assert got["联系电话"] == values["联系电话"][:3] + "****" + values["联系电话"][-4:]
    assert got["证件号"] == values["证件号"][:6] + "********" + values["证件号"][-4:]
    assert [lines[untouched][h] for h in FEEDBACK] == ["", "", "", ""]

    # The exported file imports again as it is: every number is already there.
    again = await upload(stack, importer, exported.content)
    assert (again.json()["duplicates"], again.json()["imported"], again.json()["error_rows"]) == (2, 0, 0)


async def test_given_a_user_who_may_unmask_when_exporting_csv_then_gbk_in_clear_and_audited(stack: Stack) -> None:
    handler = await user(stack, Role.complaint_handler, "branch")
    n = number()
    values = row(n)
    r = await upload(stack, handler, xlsx([values]))
    batch_id = r.json()["batch_id"]
    exported = await stack.get(handler, "/api/regulator/export", params={"batch": batch_id, "format": "csv"})
    assert exported.status_code == 200, exported.text
    lines = list(csv.reader(io.StringIO(exported.content.decode("gbk"))))
    got = dict(zip(lines[0], lines[1], strict=True))
    assert (got["投诉编号"], got["联系电话"], got["证件号"]) == (n, values["联系电话"], values["证件号"])
    ticket_id = (await imported(stack, [n]))[n][1].id
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        audits = (await s.scalars(select(AuditRecord).where(AuditRecord.username == handler,
                                                            AuditRecord.action == "pii.view"))).all()
    assert any(a.subject_type == "ticket" and str(ticket_id) in a.detail["subjects"] for a in audits)


async def test_given_export_filters_then_only_matching_complaints_are_listed(stack: Stack) -> None:
    handler = await user(stack, Role.complaint_handler, "branch")
    early, late = number(), number()
    r = await upload(stack, handler, xlsx([row(early, 接收时间="2026-10-02 08:00", 转送时间="2026-10-03", 办理时限=""),
                                          row(late, 接收时间="2026-11-22 08:00", 转送时间="2026-11-22 09:00")]))
    batch = r.json()["batch_id"]

    async def numbers(**params: Any) -> set[str]:
        got = await stack.get(handler, "/api/regulator/export", params={"batch": batch, "format": "csv", **params})
        assert got.status_code == 200, got.text
        return {line[0] for line in list(csv.reader(io.StringIO(got.content.decode("gbk"))))[1:]}

    assert await numbers() == {early, late}
    assert await numbers(received_from="2026-11-01") == {late}
    assert await numbers(received_to="2026-10-02") == {early}
    assert await numbers(status="closed") == set()
    assert await numbers(status="open") == {early, late}
    # No 到期日: the normal rule, 15 days from the day the insurer received it (转送时间).
    assert (await imported(stack, [early]))[early][1].decision_due_at == end_of("2026-10-18")


async def test_given_an_unexpected_failure_after_some_rows_were_written_then_nothing_is_kept(
        stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    handler = await user(stack, Role.complaint_handler, "branch")
    numbers = [number(), number()]

    async def broken(*_args: Any, **_kw: Any) -> None:
        raise RuntimeError("audit store down")

    monkeypatch.setattr("backend.regulator.services.record", broken)  # fails after every row's savepoint
    with pytest.raises(RuntimeError):
        await upload(stack, handler, xlsx([row(n) for n in numbers]))
    assert await imported(stack, numbers) == {}
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        assert (await s.scalars(select(Ticket.id).where(Ticket.created_by.in_(
            select(User.id).where(User.username == handler))))).all() == []


async def test_given_blank_rows_before_the_header_and_between_rows_then_row_numbers_are_as_excel_shows(
        stack: Stack) -> None:
    handler = await user(stack, Role.complaint_handler, "branch")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([])
    ws.append(HEADERS)
    good, bad = row(number()), row(number(), 投诉事由="")
    ws.append([good[h] for h in HEADERS])
    ws.append([])
    ws.append([bad[h] for h in HEADERS])
    out = io.BytesIO()
    wb.save(out)
    r = await upload(stack, handler, out.getvalue())
    assert (r.json()["rows"], r.json()["imported"]) == (2, 1), r.text
    assert r.json()["errors"] == [{"row": 5, "column": "投诉事由", "message": "投诉事由不能为空"}]
