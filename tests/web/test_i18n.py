"""Chinese first, English too: the language comes from the set_language choice, then Accept-Language, then
LANGUAGE_CODE (zh-hans); in English no Chinese is left on a page but data and the switcher's own name."""

from __future__ import annotations

import json
import re

import pytest

from tracker import models as m

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
SWITCHER = re.compile(r'<button [^>]*lang="zh-hans"[^>]*>简体中文</button>')


def _chinese_left(html: str) -> list[str]:
    """Chinese text on an English page, the language switcher's own name for Chinese excepted."""
    html = SWITCHER.sub("", html)
    found = CJK.findall(html)
    # the charts' options are JSON inside <script> (non-ASCII escaped as \\uXXXX)
    for source in re.findall(r'<script id="[^"]+" type="application/json">(.*?)</script>', html, re.S):
        found += CJK.findall(json.dumps(json.loads(source), ensure_ascii=False))
    return found


def _pages(district, task) -> dict[str, list[str]]:
    return {
        "school_a_user": [
            "/tasks/",
            f"/tasks/{task.pk}/",
            "/urges/",
            "/notifications/",
            f"/schools/{district.school_a.pk}/",
            "/notices/",
        ],
        "supervisor": [
            "/dashboard/",
            "/oversight/",
            "/requests/",
            "/tasks/",
            f"/tasks/{task.pk}/",
            "/urges/",
            f"/schools/{district.school_a.pk}/",
            "/inspections/",
            "/cases/",
            "/notices/",
        ],
        "inspector": [
            "/oversight/",
            "/dashboard/",
            "/requests/",
            "/inspections/",
            "/cases/",
            "/notices/",
            "/audit/verify/",
        ],
    }


def test_pages_are_chinese_by_default(district, page_for, task_a):
    html = page_for(district.school_a_user).get("/tasks/").content.decode()
    assert '<html lang="zh-hans">' in html
    assert ">任务<" in html and ">督办<" in html and "退出登录" in html


def test_pages_are_english_for_an_english_browser_with_no_chinese_left(district, page_for, task_a):
    m.Notification.objects.create(
        recipient=district.school_a_user, kind="overdue", title="C01 overdue", created_at=task_a.due_at
    )
    m.Flag.objects.create(cycle=district.cycle, school=district.school_a, severity="critical", opened_at=task_a.due_at)
    for who, paths in _pages(district, task_a).items():
        client = page_for(getattr(district, who), language="en-GB,en;q=0.9")
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, path
            html = response.content.decode()
            assert '<html lang="en">' in html, path
            assert not _chinese_left(html), (who, path, _chinese_left(html)[:20])
    login = page_for(None, language="en").get("/login/").content.decode()
    assert "Log in to Qinglian" in login and not _chinese_left(login)
    missing = page_for(district.supervisor, language="en").get("/nowhere/").content.decode()
    assert "Page not found" in missing and not _chinese_left(missing)


def test_the_choice_made_with_set_language_wins_over_accept_language(district, page_for):
    client = page_for(district.school_a_user, language="zh-CN,zh;q=0.9")
    assert '<html lang="zh-hans">' in client.get("/tasks/").content.decode()
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/tasks/"})
    assert response.status_code == 302 and response["Location"] == "/tasks/"
    html = client.get("/tasks/").content.decode()
    assert '<html lang="en">' in html and ">Tasks<" in html
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/tasks/"})
    assert '<html lang="zh-hans">' in client.get("/tasks/").content.decode()


def test_the_switcher_posts_to_set_language_and_marks_chinese_with_its_language(district, page_for):
    html = page_for(district.school_a_user, language="en").get("/tasks/").content.decode()
    assert 'action="/i18n/setlang/" method="post"' in html
    assert '<button type="submit" name="language" value="zh-hans" lang="zh-hans"' in html
    assert '<button type="submit" name="language" value="en" lang="en"' in html


def test_refusals_are_in_the_readers_language(district, page_for, task_a):
    english = page_for(district.school_a_user, language="en").post(f"/tasks/{task_a.pk}/", {"action": "submit"})
    assert english.status_code == 409
    assert "Upload at least 1 evidence file(s) before submitting; this task has 0." in english.content.decode()
    chinese = page_for(district.school_a_user).post(f"/tasks/{task_a.pk}/", {"action": "submit"})
    assert "提交前至少需上传1份佐证材料，目前只有0份。" in chinese.content.decode()
