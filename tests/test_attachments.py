"""Attachments: streamed upload and download with the content hash, deduplication, the size limit, type
checks by content and name, the virus-scan hook, who may download (the owner's visibility), linking, and
file names that cannot inject anything.

Every test makes its own users, tickets and file contents, so files other tests left behind never count.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import select, update

from backend.attachments.filetypes import detect, safe_file_name
from backend.attachments.services import AlreadyLinked, link_attachments
from backend.auth.models import User
from backend.auth.permissions import Role
from backend.auth.principal import Principal
from backend.core.problems import Invalid
from backend.knowledge.models import KbArticle, KbCategory
from backend.orgs.models import Org
from backend.orgs.scope import Scope
from tests.conftest import NOW, Stack
from tests.test_tickets import body


async def user(stack: Stack, role: Role, org: str) -> str:
    return await stack.add_user(f"at_{role.value}_{uuid.uuid4().hex[:8]}", role, stack.orgs[org])


async def ticket(stack: Stack, agent: str) -> dict[str, Any]:
    r = await stack.post(agent, "/api/tickets", json=body("consultation"))
    assert r.status_code == 201, r.text
    return r.json()


def pdf(size: int = 2048) -> bytes:
    """A unique PDF-looking file of about ``size`` bytes."""
    filler = (uuid.uuid4().hex * (size // 32 + 1)).encode()[:size]
    return b"%PDF-1.7\n" + filler + b"\n%%EOF\n"


def png() -> bytes:
    return b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + uuid.uuid4().bytes * 8


def office(kind: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml" if kind == "docx" else "xl/workbook.xml", f"<x>{uuid.uuid4()}</x>")
    return buf.getvalue()


async def upload(stack: Stack, who: str, name: str, data: bytes, **fields: Any) -> httpx.Response:
    return await stack.post(who, "/api/attachments", files={"file": (name, data, "application/octet-stream")},
                            data={k: str(v) for k, v in fields.items()})


async def uploaded(stack: Stack, who: str, name: str, data: bytes, **fields: Any) -> dict[str, Any]:
    r = await upload(stack, who, name, data, **fields)
    assert r.status_code == 201, r.text
    return r.json()


def root(stack: Stack) -> Path:
    return stack.ctx.settings.effective_attachments_dir


def leftovers(stack: Stack) -> list[str]:
    return [p.name for p in root(stack).glob(".upload-*")] if root(stack).exists() else []


@contextlib.contextmanager
def settings_changed(stack: Stack, **changes: Any) -> Iterator[None]:
    """Change the shared stack's settings for one test, and put them back."""
    before = {name: getattr(stack.ctx.settings, name) for name in changes}
    for name, value in changes.items():
        setattr(stack.ctx.settings, name, value)
    try:
        yield
    finally:
        for name, value in before.items():
            setattr(stack.ctx.settings, name, value)


async def principal_of(stack: Stack, username: str) -> Principal:
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        u = (await s.scalars(select(User).where(User.username == username))).one()
        org = await s.get(Org, u.org_id)
        assert org is not None
        return Principal(user_id=u.id, username=u.username, display_name=u.display_name, org_id=org.id,
                         org_path=org.path, org_name=org.name, roles=frozenset(Role(r) for r in u.roles),
                         session_id="test")


# --- upload and download


async def test_given_a_pdf_larger_than_the_json_limit_when_uploaded_to_a_ticket_then_downloaded_byte_for_byte(
        stack: Stack) -> None:
    agent = await user(stack, Role.agent, "outlet")
    t = await ticket(stack, agent)
    data = pdf(200 * 1024)  # over max_body_bytes (64 KiB): uploads have their own limit
    a = await uploaded(stack, agent, "理赔材料.pdf", data, owner_kind="ticket", owner_id=t["id"])
    digest = hashlib.sha256(data).hexdigest()
    assert (a["sha256"], a["size"], a["detected_type"], a["content_type"]) == (digest, len(data), "pdf",
                                                                               "application/pdf")
    assert (a["owner_kind"], a["owner_id"], a["file_name"]) == ("ticket", t["id"], "理赔材料.pdf")
    assert (root(stack) / digest[:2] / digest).read_bytes() == data

    r = await stack.get(agent, a["download_url"])
    assert r.status_code == 200, r.text
    assert r.content == data and hashlib.sha256(r.content).hexdigest() == digest
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert f"filename*=UTF-8''{quote('理赔材料.pdf')}" in r.headers["content-disposition"]
    assert r.headers["content-disposition"].startswith("attachment;")
    listed = (await stack.get(agent, f"/api/tickets/{t['id']}/attachments")).json()
    assert [x["id"] for x in listed] == [a["id"]]
    assert leftovers(stack) == []


async def test_given_the_same_bytes_twice_when_uploaded_then_two_records_share_one_stored_file(stack: Stack) -> None:
    agent = await user(stack, Role.agent, "outlet")
    data = pdf()
    first = await uploaded(stack, agent, "a.pdf", data)
    second = await uploaded(stack, agent, "b.pdf", data)
    assert first["id"] != second["id"] and first["sha256"] == second["sha256"]
    folder = root(stack) / first["sha256"][:2]
    assert [p.name for p in folder.iterdir() if p.name.startswith(first["sha256"])] == [first["sha256"]]
    assert (await stack.get(agent, second["download_url"])).content == data


async def test_given_a_file_over_the_limit_when_uploaded_then_413_and_nothing_is_kept(stack: Stack) -> None:
    agent = await user(stack, Role.agent, "outlet")
    data = pdf(4000)
    with settings_changed(stack, attachment_max_bytes=1000):
        r = await upload(stack, agent, "big.pdf", data)
        assert r.status_code == 413, r.text
        assert r.headers["content-type"] == "application/problem+json" and "1000" in r.json()["detail"]
        assert (await upload(stack, agent, "small.pdf", pdf(500))).status_code == 201
    digest = hashlib.sha256(data).hexdigest()
    assert not (root(stack) / digest[:2] / digest).exists() and leftovers(stack) == []


# --- types


@pytest.mark.parametrize(("name", "data", "why"), [
    ("scan.pdf", png(), "扩展名与内容不符"),
    ("report.docx", b"MZ\x90\x00" + b"\x00" * 200, "无法识别"),
    ("report.txt", b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 4, "无法识别"),
])
async def test_given_a_mismatched_or_unknown_type_when_uploaded_then_415_in_chinese(
        stack: Stack, name: str, data: bytes, why: str) -> None:
    agent = await user(stack, Role.agent, "outlet")
    r = await upload(stack, agent, name, data)
    assert r.status_code == 415, r.text
    assert why in r.json()["detail"]
    assert leftovers(stack) == []


async def test_given_a_type_left_out_of_the_settings_when_uploaded_then_415(stack: Stack) -> None:
    agent = await user(stack, Role.agent, "outlet")
    with settings_changed(stack, attachment_types=["pdf"]):
        r = await upload(stack, agent, "photo.png", png())
        assert r.status_code == 415 and "PNG" in r.json()["detail"], r.text
        assert (await upload(stack, agent, "ok.pdf", pdf())).status_code == 201


def test_given_sample_files_when_detected_then_each_is_recognised_by_content(tmp_path: Path) -> None:
    wav = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 32
    ole_doc = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500 + "WordDocument".encode("utf-16-le")
    ole_xls = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500 + "Workbook".encode("utf-16-le")
    samples = {"pdf": pdf(), "png": png(), "jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00" * 50,
               "gif": b"GIF89a" + b"\x00" * 50, "docx": office("docx"), "xlsx": office("xlsx"),
               "zip": _plain_zip(), "doc": ole_doc, "xls": ole_xls, "wav": wav, "mp3": b"ID3\x04" + b"\x00" * 50,
               "mp4": b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 50, "txt": "客户来电反映理赔进度。\n".encode()}
    for kind, data in samples.items():
        path = tmp_path / kind
        path.write_bytes(data)
        assert detect(path).type == kind, kind
    gbk = tmp_path / "gbk"
    gbk.write_bytes("投诉材料：客户要求退保。".encode("gbk"))
    assert detect(gbk).content_type == "text/plain; charset=gbk"
    frame = tmp_path / "frame"
    frame.write_bytes(b"\xff\xfb\x90\x64" + b"\x00" * 400)  # MPEG-1 layer III, 128 kbit/s
    assert detect(frame).type == "mp3"
    garbage = tmp_path / "garbage"
    garbage.write_bytes(bytes(range(256)) * 8)
    assert detect(garbage).type == ""


def _plain_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("材料/说明.txt", "说明")
    return buf.getvalue()


# --- virus scan


async def test_given_a_scan_command_when_a_file_contains_eicar_then_422_and_it_is_not_kept(
        stack: Stack, tmp_path: Path) -> None:
    script = tmp_path / "scan.sh"
    script.write_text('#!/bin/sh\nif grep -q EICAR "$1"; then exit 1; fi\nexit 0\n')
    agent = await user(stack, Role.agent, "outlet")
    infected = f"X5O!P%@AP EICAR-STANDARD-ANTIVIRUS-TEST-FILE {uuid.uuid4()}\n".encode()
    with settings_changed(stack, virus_scan_command=f"sh {script} {{path}}"):
        r = await upload(stack, agent, "readme.txt", infected)
        assert r.status_code == 422, r.text
        assert r.json()["detail"] == "文件未通过病毒扫描"
        clean = await upload(stack, agent, "readme.txt", f"客户说明 {uuid.uuid4()}\n".encode())
        assert clean.status_code == 201, clean.text
    with settings_changed(stack, virus_scan_command=f"{tmp_path}/no-such-scanner --file {{path}}"):
        r = await upload(stack, agent, "readme.txt", f"客户说明 {uuid.uuid4()}\n".encode())
        assert r.status_code == 503, r.text  # no scanner, no file: refused rather than kept unchecked
    digest = hashlib.sha256(infected).hexdigest()
    assert not (root(stack) / digest[:2] / digest).exists() and leftovers(stack) == []


# --- who may download


async def test_given_a_ticket_attachment_when_another_branch_asks_then_404_and_the_branch_above_sees_it(
        stack: Stack) -> None:
    agent = await user(stack, Role.agent, "outlet")
    t = await ticket(stack, agent)
    a = await uploaded(stack, agent, "a.pdf", pdf(), owner_kind="ticket", owner_id=t["id"])
    other = await user(stack, Role.complaint_handler, "other_branch")
    above = await user(stack, Role.complaint_handler, "branch")
    assert (await stack.get(other, a["download_url"])).status_code == 404
    assert (await stack.get(other, f"/api/tickets/{t['id']}/attachments")).status_code == 404
    assert (await stack.get(above, a["download_url"])).status_code == 200
    assert [x["id"] for x in (await stack.get(above, f"/api/tickets/{t['id']}/attachments")).json()] == [a["id"]]


async def test_given_an_unlinked_upload_when_a_colleague_asks_then_404_and_only_the_uploader_sees_it(
        stack: Stack) -> None:
    agent = await user(stack, Role.agent, "outlet")
    colleague = await user(stack, Role.agent, "outlet")
    a = await uploaded(stack, agent, "a.pdf", pdf())
    assert (await stack.get(colleague, a["download_url"])).status_code == 404
    assert (await stack.get(agent, a["download_url"])).status_code == 200


async def test_given_a_handling_record_attachment_when_the_ticket_is_read_then_it_is_listed_with_the_ticket(
        stack: Stack) -> None:
    agent = await user(stack, Role.agent, "outlet")
    handler = await user(stack, Role.complaint_handler, "outlet")
    t = await ticket(stack, agent)
    r = await stack.post(handler, f"/api/tickets/{t['id']}/actions",
                         json={"action": "transfer", "version": t["version"], "target_org_id": stack.orgs["outlet"].id})
    assert r.status_code == 200, r.text
    record_id = r.json()["record"]["id"]
    mine = await uploaded(stack, handler, "处理说明.docx", office("docx"), owner_kind="handling_record",
                          owner_id=record_id)
    assert mine["detected_type"] == "docx"
    refused = await upload(stack, agent, "x.pdf", pdf(), owner_kind="handling_record", owner_id=record_id)
    assert refused.status_code == 403, refused.text  # not the agent's record
    listed = (await stack.get(agent, f"/api/tickets/{t['id']}/attachments")).json()
    assert [(x["id"], x["owner_kind"]) for x in listed] == [(mine["id"], "handling_record")]


async def test_given_an_article_attachment_when_read_then_it_follows_the_articles_readers(stack: Stack) -> None:
    author = await user(stack, Role.complaint_handler, "outlet")
    colleague = await user(stack, Role.agent, "outlet")
    far = await user(stack, Role.agent, "other_outlet")
    me = await principal_of(stack, author)
    tag = uuid.uuid4().hex[:8]
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        category = KbCategory(code=f"at{tag}", name=f"附件测试{tag}")
        s.add(category)
        await s.flush()
        article = KbArticle(org_id=me.org_id, category_id=category.id, title="理赔时效答复口径", body_html="<p>口径</p>",
                            body_text="口径", search_text="口径", status="draft", visibility="all", author_id=me.user_id,
                            created_at=NOW, updated_at=NOW)
        s.add(article)
        await s.flush()
        article_id = article.id
    a = await uploaded(stack, author, "口径.pdf", pdf(), owner_kind="kb_article", owner_id=article_id)
    other_handler = await user(stack, Role.complaint_handler, "outlet")
    refused = await upload(stack, other_handler, "x.pdf", pdf(), owner_kind="kb_article", owner_id=article_id)
    assert refused.status_code == 422, refused.text  # someone else's draft is out of sight
    assert (await stack.get(author, a["download_url"])).status_code == 200
    assert (await stack.get(colleague, a["download_url"])).status_code == 404  # a draft is its author's
    assert (await stack.get(far, a["download_url"])).status_code == 404
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        await s.execute(update(KbArticle).where(KbArticle.id == article_id)
                        .values(status="published", published_org_id=stack.orgs["hq"].id, published_at=NOW))
    assert (await stack.get(far, a["download_url"])).status_code == 200  # published for the whole company


# --- linking


async def test_given_an_unlinked_upload_when_linked_then_it_follows_the_ticket_and_cannot_be_linked_again(
        stack: Stack) -> None:
    agent = await user(stack, Role.agent, "outlet")
    colleague = await user(stack, Role.agent, "outlet")
    t, other_t = await ticket(stack, agent), await ticket(stack, agent)
    a = await uploaded(stack, agent, "a.pdf", pdf())
    assert (await stack.post(colleague, f"/api/attachments/{a['id']}/link",
                             json={"owner_kind": "ticket", "owner_id": t["id"]})).status_code == 404
    r = await stack.post(agent, f"/api/attachments/{a['id']}/link", json={"owner_kind": "ticket", "owner_id": t["id"]})
    assert r.status_code == 200 and (r.json()["owner_kind"], r.json()["owner_id"]) == ("ticket", t["id"]), r.text
    assert (await stack.get(colleague, a["download_url"])).status_code == 200  # sees the ticket, sees its files
    again = await stack.post(agent, f"/api/attachments/{a['id']}/link",
                             json={"owner_kind": "ticket", "owner_id": other_t["id"]})
    assert again.status_code == 409, again.text


async def test_given_a_ticket_of_another_branch_when_linking_then_422_and_nothing_changes(stack: Stack) -> None:
    agent = await user(stack, Role.agent, "outlet")
    stranger = await user(stack, Role.agent, "other_outlet")
    foreign = await ticket(stack, stranger)
    a = await uploaded(stack, agent, "a.pdf", pdf())
    r = await stack.post(agent, f"/api/attachments/{a['id']}/link",
                         json={"owner_kind": "ticket", "owner_id": foreign["id"]})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "owner_id", r.text
    r = await upload(stack, agent, "b.pdf", pdf(), owner_kind="ticket", owner_id=foreign["id"])
    assert r.status_code == 422, r.text
    assert (await stack.get(stranger, a["download_url"])).status_code == 404


async def test_given_uploads_when_link_attachments_is_called_then_only_own_unlinked_files_are_linked(
        stack: Stack) -> None:
    agent = await user(stack, Role.agent, "outlet")
    colleague = await user(stack, Role.agent, "outlet")
    t, other_t = await ticket(stack, agent), await ticket(stack, agent)
    a, b = await uploaded(stack, agent, "a.pdf", pdf()), await uploaded(stack, agent, "b.pdf", pdf())
    theirs = await uploaded(stack, colleague, "c.pdf", pdf())
    me = await principal_of(stack, agent)
    async with stack.ctx.db.session(scope=me.scope) as s:
        with pytest.raises(Invalid) as bad:
            await link_attachments(s, me, [a["id"], theirs["id"]], "ticket", t["id"])
        assert [e["field"] for e in bad.value.extra["errors"]] == ["attachment_ids.1"]
    async with stack.ctx.db.session(scope=me.scope) as s:
        linked = await link_attachments(s, me, [a["id"], b["id"], a["id"]], "ticket", t["id"])
        assert [(x.id, x.owner_id) for x in linked] == [(a["id"], t["id"]), (b["id"], t["id"])]
    async with stack.ctx.db.session(scope=me.scope) as s:
        assert len(await link_attachments(s, me, [a["id"]], "ticket", t["id"])) == 1  # the same owner again: fine
        with pytest.raises(AlreadyLinked):
            await link_attachments(s, me, [b["id"]], "ticket", other_t["id"])
    listed = (await stack.get(agent, f"/api/tickets/{t['id']}/attachments")).json()
    assert sorted(x["id"] for x in listed) == sorted([a["id"], b["id"]])


# --- names


@pytest.mark.parametrize(("raw", "expected"), [
    ('<img src=x onerror="alert(1)">.txt', "_img src=x onerror=_alert(1)__.txt"),
    ("../../etc/passwd.txt", "passwd.txt"),
    ("C:\\Users\\张三\\投诉书.txt", "投诉书.txt"),
    ("a\r\nContent-Type: evil.txt", "aContent-Type_ evil.txt"),
    ("...", "附件"),
])
def test_given_hostile_names_when_sanitised_then_nothing_can_be_injected(raw: str, expected: str) -> None:
    assert safe_file_name(raw) == expected


async def test_given_a_script_in_the_file_name_when_uploaded_and_downloaded_then_it_comes_back_harmless(
        stack: Stack) -> None:
    agent = await user(stack, Role.agent, "outlet")
    a = await uploaded(stack, agent, '"><script>alert(1)</script>说明.txt', f"说明 {uuid.uuid4()}".encode())
    assert not set(a["file_name"]) & set('<>"/\\') and a["file_name"].endswith("说明.txt")
    r = await stack.get(agent, a["download_url"])
    disposition = r.headers["content-disposition"]
    assert "<" not in disposition and disposition.count('"') == 2
    assert r.headers["content-type"] == "text/plain; charset=utf-8" and r.headers["x-content-type-options"] == "nosniff"


async def test_given_a_role_without_writing_rights_when_uploading_then_403(stack: Stack) -> None:
    auditor = await user(stack, Role.auditor, "outlet")
    assert (await upload(stack, auditor, "a.pdf", pdf())).status_code == 403
    assert leftovers(stack) == []
