"""Knowledge base: categories, the submit → review → publish flow, who reads what across the org tree, jieba
search, rich-text sanitising, versions.

Every test makes its own users and tags its articles with its own tag, so articles other tests left behind
never count.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from backend.auth.permissions import Role
from backend.knowledge.sanitize import sanitise
from backend.knowledge.search import snippet
from tests.conftest import Stack

SEEDED = [("law", "法律法规"), ("regulatory_notice", "监管发文"), ("company_policy", "公司制度"),
          ("insurance_knowledge", "保险知识"), ("typical_case", "典型案例"), ("handling_experience", "办理经验")]


async def user(stack: Stack, role: Role, org: str) -> str:
    return await stack.add_user(f"kb_{role.value}_{uuid.uuid4().hex[:8]}", role, stack.orgs[org])


def unique_tag() -> str:
    return f"t{uuid.uuid4().hex[:12]}"


def article(tag: str, **fields: Any) -> dict[str, Any]:
    return {"category": "handling_experience", "title": "理赔时效争议的处理经验", "summary": "与客户沟通理赔进度",
            "body_html": "<p>客户对理赔进度不满时，先<strong>核实</strong>材料是否齐全。</p>", "tags": [tag], **fields}


async def patch(stack: Stack, username: str, url: str, **kw: Any) -> httpx.Response:
    return await stack.client.patch(url, headers=await stack.as_user(username), **kw)


async def create(stack: Stack, author: str, **fields: Any) -> dict[str, Any]:
    r = await stack.post(author, "/api/kb/articles", json=article(fields.pop("tag", unique_tag()), **fields))
    assert r.status_code == 201, r.text
    return r.json()


async def step(stack: Stack, username: str, article_id: int, action: str, expect: int = 200,
               **body: Any) -> dict[str, Any]:
    r = await stack.post(username, f"/api/kb/articles/{article_id}/{action}", json=body)
    assert r.status_code == expect, r.text
    return r.json()


async def published(stack: Stack, author: str, reviewer: str, **fields: Any) -> dict[str, Any]:
    a = await create(stack, author, **fields)
    await step(stack, author, a["id"], "submit")
    return await step(stack, reviewer, a["id"], "publish")


async def found_ids(stack: Stack, username: str, **params: Any) -> list[int]:
    r = await stack.get(username, "/api/kb/articles", params={"limit": 100, **params})
    assert r.status_code == 200, r.text
    return [hit["id"] for hit in r.json()]


# --- the flow


async def test_given_handler_draft_when_returned_resubmitted_and_published_then_outlet_agents_read_it(
        stack: Stack) -> None:
    author = await user(stack, Role.complaint_handler, "outlet")
    reviewer = await user(stack, Role.org_manager, "branch")
    agent, sibling_agent = await user(stack, Role.agent, "outlet"), await user(stack, Role.agent, "sibling_outlet")
    tag = unique_tag()
    a = await create(stack, author, tag=tag)
    assert (a["status"], a["version"], a["org_id"], a["author_name"]) == ("draft", 1, stack.orgs["outlet"].id, author)
    assert a["category_name"] == "办理经验"
    assert await found_ids(stack, agent, tag=tag) == []

    submitted = await step(stack, author, a["id"], "submit", comment="请审核")
    assert (submitted["status"], submitted["version"]) == ("submitted", 2)
    returned = await step(stack, reviewer, a["id"], "return", comment="请补充客户沟通话术")
    assert (returned["status"], returned["reviewer_name"]) == ("returned", reviewer)

    r = await patch(stack, author, f"/api/kb/articles/{a['id']}",
                    json={"version": returned["version"], "body_html": "<p>补充话术：先致歉，再说明进度。</p>"})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["body_html"]) == ("returned", "<p>补充话术：先致歉，再说明进度。</p>")
    await step(stack, author, a["id"], "submit", version=r.json()["version"])
    done = await step(stack, reviewer, a["id"], "publish", comment="同意发布")
    assert (done["status"], done["published_org_id"], done["visibility"]) == ("published", stack.orgs["branch"].id,
                                                                             "subtree")
    assert done["published_at"] is not None

    # Published by the branch's reviewer: the whole branch reads it, not only the author's outlet.
    for reader in (agent, sibling_agent):
        assert await found_ids(stack, reader, tag=tag) == [a["id"]]
        assert (await stack.get(reader, f"/api/kb/articles/{a['id']}")).status_code == 200
    history = (await stack.get(author, f"/api/kb/articles/{a['id']}/history")).json()
    assert [(h["action"], h["actor_name"]) for h in history] == [
        ("submit", author), ("return", reviewer), ("submit", author), ("publish", reviewer)]
    assert history[1]["comment"] == "请补充客户沟通话术"

    archived = await step(stack, reviewer, a["id"], "archive", comment="政策已更新")
    assert archived["status"] == "archived"
    assert await found_ids(stack, agent, tag=tag) == []
    assert (await stack.get(agent, f"/api/kb/articles/{a['id']}")).status_code == 404
    assert (await stack.get(author, f"/api/kb/articles/{a['id']}")).json()["status"] == "archived"


async def test_given_my_articles_when_listed_with_mine_then_every_state_of_mine_only(stack: Stack) -> None:
    author, other = await user(stack, Role.complaint_handler, "outlet"), await user(stack, Role.team_lead, "outlet")
    tag = unique_tag()
    draft = await create(stack, author, tag=tag)
    sent = await create(stack, author, tag=tag)
    await step(stack, author, sent["id"], "submit")
    await create(stack, other, tag=tag)
    assert sorted(await found_ids(stack, author, tag=tag, mine="true")) == sorted([draft["id"], sent["id"]])
    assert await found_ids(stack, author, tag=tag, mine="true", status="submitted") == [sent["id"]]


# --- permissions


async def test_given_agent_when_writing_or_reviewing_then_403(stack: Stack) -> None:
    agent = await user(stack, Role.agent, "outlet")
    handler = await user(stack, Role.complaint_handler, "outlet")
    a = await create(stack, handler)
    await step(stack, handler, a["id"], "submit")
    assert (await stack.post(agent, "/api/kb/articles", json=article(unique_tag()))).status_code == 403
    for action in ("publish", "archive"):
        await step(stack, agent, a["id"], action, expect=403)
        await step(stack, handler, a["id"], action, expect=403)
    await step(stack, agent, a["id"], "return", expect=403, comment="不行")
    assert (await stack.get(handler, f"/api/kb/articles/{a['id']}")).json()["status"] == "submitted"
    assert (await stack.get(agent, "/api/kb/articles", params={"status": "submitted"})).status_code == 403


async def test_given_reviewer_of_another_branch_when_reviewing_then_404(stack: Stack) -> None:
    handler = await user(stack, Role.complaint_handler, "outlet")
    stranger = await user(stack, Role.org_manager, "other_branch")
    a = await create(stack, handler)
    await step(stack, handler, a["id"], "submit")
    await step(stack, stranger, a["id"], "publish", expect=404)
    assert a["id"] not in await found_ids(stack, stranger, status="submitted")
    reviewer = await user(stack, Role.org_manager, "central")
    assert a["id"] in await found_ids(stack, reviewer, status="submitted")


async def test_given_published_article_when_author_without_review_edits_then_409_and_reviewer_edit_unpublishes(
        stack: Stack) -> None:
    author = await user(stack, Role.complaint_handler, "outlet")
    reviewer = await user(stack, Role.org_manager, "branch")
    agent = await user(stack, Role.agent, "outlet")
    tag = unique_tag()
    a = await published(stack, author, reviewer, tag=tag)
    r = await patch(stack, author, f"/api/kb/articles/{a['id']}", json={"version": a["version"], "title": "新标题"})
    assert r.status_code == 409, r.text
    assert r.json()["current"]["status"] == "published"

    r = await patch(stack, reviewer, f"/api/kb/articles/{a['id']}", json={"version": a["version"], "title": "新标题"})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["title"], r.json()["published_at"]) == ("draft", "新标题", None)
    assert await found_ids(stack, agent, tag=tag) == []
    history = (await stack.get(reviewer, f"/api/kb/articles/{a['id']}/history")).json()
    assert history[-1]["action"] == "revise"


# --- who reads what


async def test_given_branch_article_when_published_to_subtree_then_other_branch_cannot_read_it(stack: Stack) -> None:
    author = await user(stack, Role.org_manager, "branch")
    tag = unique_tag()
    a = await published(stack, author, author, tag=tag)
    assert await found_ids(stack, await user(stack, Role.agent, "outlet"), tag=tag) == [a["id"]]
    assert await found_ids(stack, await user(stack, Role.agent, "hq"), tag=tag) == [a["id"]]  # oversight
    for org in ("other_branch", "other_outlet"):
        outsider = await user(stack, Role.agent, org)
        assert await found_ids(stack, outsider, tag=tag) == []
        assert (await stack.get(outsider, f"/api/kb/articles/{a['id']}")).status_code == 404


async def test_given_hq_article_for_all_when_published_then_every_outlet_reads_it(stack: Stack) -> None:
    author = await user(stack, Role.org_manager, "hq")
    tag = unique_tag()
    a = await published(stack, author, author, tag=tag, visibility="all")
    assert a["visibility"] == "all"
    for org in ("outlet", "other_outlet", "other_branch"):
        reader = await user(stack, Role.agent, org)
        assert await found_ids(stack, reader, tag=tag) == [a["id"]]
        got = await stack.get(reader, f"/api/kb/articles/{a['id']}")
        assert (got.status_code, got.json()["org_name"]) == (200, stack.orgs["hq"].name)
    # Reading is not managing: a branch reviewer cannot archive what head office published.
    await step(stack, await user(stack, Role.org_manager, "other_branch"), a["id"], "archive", expect=403)


async def test_given_company_wide_article_when_branch_reviewer_publishes_then_403_unless_narrowed(
        stack: Stack) -> None:
    author = await user(stack, Role.complaint_handler, "outlet")
    reviewer = await user(stack, Role.org_manager, "branch")
    tag = unique_tag()
    a = await create(stack, author, tag=tag, visibility="all")
    await step(stack, author, a["id"], "submit")
    await step(stack, reviewer, a["id"], "publish", expect=403)
    done = await step(stack, reviewer, a["id"], "publish", visibility="subtree")
    assert done["visibility"] == "subtree"
    assert await found_ids(stack, await user(stack, Role.agent, "other_outlet"), tag=tag) == []


async def test_given_draft_when_others_look_then_never_visible(stack: Stack) -> None:
    author = await user(stack, Role.complaint_handler, "outlet")
    tag = unique_tag()
    a = await create(stack, author, tag=tag)
    for other in (await user(stack, Role.agent, "outlet"), await user(stack, Role.complaint_handler, "outlet"),
                  await user(stack, Role.agent, "hq")):
        assert (await stack.get(other, f"/api/kb/articles/{a['id']}")).status_code == 404
        assert await found_ids(stack, other, tag=tag) == []
        assert await found_ids(stack, other, tag=tag, mine="true") == []
        r = await patch(stack, other, f"/api/kb/articles/{a['id']}", json={"version": 1, "title": "改"})
        assert r.status_code in (403, 404), r.text
    assert (await stack.get(author, f"/api/kb/articles/{a['id']}")).status_code == 200


# --- search


async def test_given_chinese_query_when_searching_then_all_words_must_match(stack: Stack) -> None:
    author = await user(stack, Role.org_manager, "branch")
    reader = await user(stack, Role.agent, "outlet")
    tag = unique_tag()
    both = await published(stack, author, author, tag=tag, title="犹豫期后解除合同的说明", summary=None,
                           body_html="<p>" + "投保人在犹豫期后申请解除合同的，" * 4 +
                                     "办理退保时，公司按合同约定退还保单的现金价值，并告知损失。</p>")
    titled = await published(stack, author, author, tag=tag, title="退保与现金价值", summary="计算口径",
                             body_html="<p>见条款。</p>")
    await published(stack, author, author, tag=tag, title="退保纠纷处理", body_html="<p>客户要求全额退款。</p>")
    await published(stack, author, author, tag=tag, title="保单现金价值表", body_html="<p>每年度末的数值。</p>")

    r = await stack.get(reader, "/api/kb/articles", params={"q": "退保 现金价值", "tag": tag})
    hits = r.json()
    # Title hits rank first; the other match follows; the articles with only one of the words are left out.
    assert [h["id"] for h in hits] == [titled["id"], both["id"]]
    assert "退保" in hits[1]["snippet"] and hits[1]["snippet"].startswith("…")
    assert len(hits[1]["snippet"]) <= 82
    assert await found_ids(stack, reader, q="现金价值", tag=tag, category="typical_case") == []
    assert await found_ids(stack, reader, q="犹豫期", tag=tag) == [both["id"]]


def test_given_long_text_when_snippet_then_about_80_chars_around_first_hit() -> None:
    text = "甲" * 200 + "现金价值" + "乙" * 200
    cut = snippet(text, ["现金价值"])
    assert "现金价值" in cut and cut.startswith("…") and cut.endswith("…")
    assert len(cut) == 82
    assert snippet("短文本", ["无"]) == "短文本"


# --- sanitising


XSS = [
    '<script>alert(1)</script>',
    '<img src=x onerror=alert(1)>',
    '<a href="javascript:alert(1)">x</a>',
    '<a href="java\tscript:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<a href=" JaVaScRiPt:alert(1)">x</a>',
    '<p onclick="alert(1)" style="x:expression(alert(1))">p</p>',
    '<svg onload=alert(1)><script>alert(1)</script></svg>',
    '<iframe src="javascript:alert(1)"></iframe>',
    '<img src="data:image/svg+xml;base64,PHN2Zz4=">',
    '<img src="/api/attachments/../../etc/passwd">',
    '<<script>script>alert(1)<</script>/script>',
    '<style>@import "http://evil"</style>',
    '<a href="vbscript:msgbox(1)">v</a>',
    '<form action="http://evil"><input name=x></form>',
    '<div><object data="x"></object></div>',
]


@pytest.mark.parametrize("payload", XSS)
def test_given_xss_payload_when_sanitised_then_nothing_executable_remains(payload: str) -> None:
    out = sanitise(payload).html.lower()
    for bad in ("<script", "javascript:", "vbscript:", "onerror", "onload", "onclick", "<iframe", "<svg", "style",
                "data:", "<form", "<input", "<object", "..", "<img src=\"x"):
        assert bad not in out, (payload, out)


def test_given_allowed_markup_when_sanitised_then_kept_and_well_formed() -> None:
    html = ('<h2>标题</h2><p>一<br>二 <strong>粗</strong><em>斜</em><u>下</u></p><ul><li>甲<li>乙</ul>'
            '<table><thead><tr><th colspan="2">表</th></tr></thead><tbody><tr><td>1<td>2</tbody></table>'
            '<blockquote>引</blockquote><a href="https://example.com/a?b=1&amp;c=2" target="_blank">链</a>'
            '<img src="/api/attachments/12/content" alt="图"><p>未闭合 &lt;b&gt;')
    out = sanitise(html)
    assert out.html == (
        '<h2>标题</h2><p>一<br>二 <strong>粗</strong><em>斜</em><u>下</u></p><ul><li>甲</li><li>乙</li></ul>'
        '<table><thead><tr><th colspan="2">表</th></tr></thead><tbody><tr><td>1</td><td>2</td></tr></tbody></table>'
        '<blockquote>引</blockquote><a href="https://example.com/a?b=1&amp;c=2" rel="noopener noreferrer nofollow">'
        '链</a><img src="/api/attachments/12/content" alt="图"><p>未闭合 &lt;b&gt;</p>')
    assert out.text.splitlines()[:3] == ["标题", "一", "二 粗斜下"]
    assert out.has_media


async def test_given_xss_in_body_when_saved_then_stored_sanitised(stack: Stack) -> None:
    author = await user(stack, Role.complaint_handler, "outlet")
    a = await create(stack, author, body_html='<p onmouseover="alert(1)">正文<script>alert(document.cookie)</script>'
                                              '<a href="javascript:alert(1)">点我</a></p>')
    got = (await stack.get(author, f"/api/kb/articles/{a['id']}")).json()
    assert got["body_html"] == "<p>正文<a>点我</a></p>"


# --- versions and input


async def test_given_two_editors_when_same_version_then_second_gets_409_with_current(stack: Stack) -> None:
    author = await user(stack, Role.complaint_handler, "outlet")
    a = await create(stack, author)
    url = f"/api/kb/articles/{a['id']}"
    first = await patch(stack, author, url, json={"version": 1, "title": "第一次修改"})
    assert first.status_code == 200 and first.json()["version"] == 2
    second = await patch(stack, author, url, json={"version": 1, "title": "第二次修改"})
    assert second.status_code == 409, second.text
    assert (second.json()["current"]["version"], second.json()["current"]["title"]) == (2, "第一次修改")
    stale = await step(stack, author, a["id"], "submit", expect=409, version=1)
    assert stale["current"]["status"] == "draft"
    await step(stack, author, a["id"], "submit", version=2)
    reviewer = await user(stack, Role.org_manager, "outlet")
    await step(stack, reviewer, a["id"], "publish")
    again = await step(stack, reviewer, a["id"], "publish", expect=409)
    assert again["current"]["status"] == "published"


async def test_given_two_reviewers_at_once_when_one_publishes_and_one_returns_then_exactly_one_wins(
        stack: Stack) -> None:
    author = await user(stack, Role.complaint_handler, "outlet")
    first, second = await user(stack, Role.org_manager, "outlet"), await user(stack, Role.org_manager, "branch")
    a = await create(stack, author)
    await step(stack, author, a["id"], "submit")
    await stack.token(first), await stack.token(second)
    publish, send_back = await asyncio.gather(
        stack.post(first, f"/api/kb/articles/{a['id']}/publish", json={}),
        stack.post(second, f"/api/kb/articles/{a['id']}/return", json={"comment": "再改改"}))
    assert sorted([publish.status_code, send_back.status_code]) == [200, 409], (publish.text, send_back.text)
    final = (await stack.get(author, f"/api/kb/articles/{a['id']}")).json()
    assert final["status"] == ("published" if publish.status_code == 200 else "returned")
    assert final["version"] == 3
    history = (await stack.get(author, f"/api/kb/articles/{a['id']}/history")).json()
    assert [h["action"] for h in history] == ["submit", "publish" if publish.status_code == 200 else "return"]


@pytest.mark.parametrize("fields, field", [
    ({"title": ""}, "title"),
    ({"category": "no_such_category"}, "category"),
    ({"tags": ["a|b"]}, "tags"),
    ({"tags": [f"t{i}" for i in range(11)]}, "tags"),
    ({"attachment_ids": ["abc"]}, "attachment_ids.0"),
    ({"attachment_ids": [0]}, "attachment_ids.0"),
    ({"visibility": "everyone"}, "visibility"),
    ({"unknown": 1}, "unknown"),
])
async def test_given_bad_article_when_created_then_422_naming_the_field(stack: Stack, fields: dict[str, Any],
                                                                      field: str) -> None:
    author = await user(stack, Role.complaint_handler, "outlet")
    r = await stack.post(author, "/api/kb/articles", json=article(unique_tag(), **fields))
    assert r.status_code == 422, r.text
    assert field in [e["field"] for e in r.json()["errors"]]


async def test_given_empty_body_or_return_without_comment_when_sent_then_422(stack: Stack) -> None:
    author = await user(stack, Role.complaint_handler, "outlet")
    reviewer = await user(stack, Role.org_manager, "outlet")
    empty = await create(stack, author, body_html="<p> <script>x</script></p>")
    await step(stack, author, empty["id"], "submit", expect=422)
    a = await create(stack, author)
    await step(stack, author, a["id"], "submit")
    await step(stack, reviewer, a["id"], "return", expect=422)
    await step(stack, reviewer, a["id"], "return", expect=422, comment="   ")
    assert (await stack.get(author, f"/api/kb/articles/{a['id']}")).json()["status"] == "submitted"


# --- categories


async def test_given_categories_when_listed_then_seeded_six_first_and_hq_reviewer_adds_more(stack: Stack) -> None:
    agent = await user(stack, Role.agent, "outlet")
    listed = (await stack.get(agent, "/api/kb/categories")).json()
    seeded_codes = {code for code, _ in SEEDED}  # other tests add categories of their own to the shared stack
    assert [(c["code"], c["name"]) for c in listed if c["code"] in seeded_codes] == SEEDED
    code = f"c_{uuid.uuid4().hex[:8]}"
    body = {"code": code, "name": f"话术{code}", "sort_order": 900}
    assert (await stack.post(agent, "/api/kb/categories", json=body)).status_code == 403
    assert (await stack.post(await user(stack, Role.org_manager, "branch"), "/api/kb/categories",
                             json=body)).status_code == 403
    hq_reviewer = await user(stack, Role.org_manager, "hq")
    assert (await stack.post(hq_reviewer, "/api/kb/categories", json=body)).status_code == 201
    assert (await stack.post(hq_reviewer, "/api/kb/categories", json=body)).status_code == 409
    bad = await stack.post(hq_reviewer, "/api/kb/categories", json={"code": "Bad Code", "name": "x"})
    assert bad.status_code == 422
    assert code in [c["code"] for c in (await stack.get(agent, "/api/kb/categories")).json()]
    handler = await user(stack, Role.complaint_handler, "outlet")
    assert (await create(stack, handler, category=code))["category"] == code
