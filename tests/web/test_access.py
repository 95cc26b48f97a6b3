"""Who reaches which page: "/" per role, Django's login and logout, 404 outside scope, 403 for a role."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def _main(response) -> str:
    """The page's content (the header differs by the path it links back to and its CSRF token)."""
    html = response.content.decode()
    return html[html.index("<main") : html.index("</main>")]


def test_anonymous_people_are_sent_to_the_login_page(page_for):
    response = page_for(None).get("/")
    assert response.status_code == 302
    assert response["Location"] == "/login/"
    # every page asks for a login first, and comes back after it
    response = page_for(None).get("/tasks/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/tasks/"


@pytest.mark.parametrize(
    ("who", "home"),
    [
        ("school_a_user", "/tasks/"),
        ("supervisor", "/dashboard/"),
        ("inspector", "/oversight/"),
    ],
)
def test_each_role_is_sent_to_its_home(district, page_for, who, home):
    response = page_for(getattr(district, who)).get("/")
    assert response.status_code == 302
    assert response["Location"] == home


def test_the_login_page_is_djangos_login_form_and_logging_in_goes_home(district, page_for):
    client = page_for(None)
    page = client.get("/login/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="username"' in html and 'name="password"' in html and "csrfmiddlewaretoken" in html
    district.school_a_user.set_password("pw-Secret-123")
    district.school_a_user.save()
    response = client.post("/login/", {"username": district.school_a_user.username, "password": "pw-Secret-123"})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").headers["Location"] == "/tasks/"


def test_a_wrong_password_stays_on_the_login_page_with_a_message(district, page_for):
    response = page_for(None).post("/login/", {"username": district.school_a_user.username, "password": "nope"})
    assert response.status_code == 200
    assert "请输入一个正确的" in response.content.decode()  # Django's own message, in Chinese


def test_logout_is_a_post_and_ends_the_session(district, page_for):
    client = page_for(district.school_a_user)
    assert client.get("/logout/").status_code == 405
    response = client.post("/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert client.get("/tasks/").status_code == 302


def test_the_api_docs_stay_reachable(page_for):
    assert page_for(None).get("/api/docs/").status_code == 200


def test_a_school_cannot_open_another_schools_task_or_school_page(district, page_for, task_a, task_b):
    client = page_for(district.school_b_user)
    assert client.get(f"/tasks/{task_b.pk}/").status_code == 200
    assert client.get(f"/tasks/{task_a.pk}/").status_code == 404
    assert client.get(f"/schools/{district.school_b.pk}/").status_code == 200
    assert client.get(f"/schools/{district.school_a.pk}/").status_code == 404


def test_out_of_scope_reads_exactly_like_not_found(district, page_for, task_a):
    client = page_for(district.other_supervisor)
    missing = client.get("/tasks/999999999/")
    hidden = client.get(f"/tasks/{task_a.pk}/")
    assert missing.status_code == hidden.status_code == 404
    assert _main(missing) == _main(hidden)
    assert client.get(f"/schools/{district.school_a.pk}/").status_code == 404
    # a write to a task out of scope is 404 too, before anything else is judged
    assert client.post(f"/tasks/{task_a.pk}/", {"action": "extend"}).status_code == 404


def test_the_not_found_page_is_a_page_not_json(district, page_for):
    response = page_for(district.school_a_user).get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert "页面不存在" in response.content.decode()
    # under /api/ it stays JSON
    assert page_for(district.school_a_user).get("/api/v1/nothing/").json()["code"] == "not_found"


@pytest.mark.parametrize("path", ["/dashboard/", "/oversight/"])
def test_district_pages_are_403_for_a_school(district, page_for, path):
    response = page_for(district.school_a_user).get(path)
    assert response.status_code == 403
    assert "无权访问" in response.content.decode()


def test_a_cycle_out_of_scope_is_404_and_a_malformed_one_400(district, page_for):
    client = page_for(district.supervisor)
    for path in ("/dashboard/", "/oversight/", "/tasks/", "/urges/"):
        assert client.get(f"{path}?cycle={district.other_cycle.pk}").status_code == 404, path
        assert client.get(f"{path}?cycle=abc").status_code == 400, path


def test_dashboard_units_are_judged_like_the_api(district, page_for):
    client = page_for(district.supervisor)
    cycle = district.cycle.pk
    assert client.get(f"/dashboard/?cycle={cycle}&unit={district.bureau.pk}").status_code == 200
    assert client.get(f"/dashboard/?cycle={cycle}&unit={district.other_bureau.pk}").status_code == 404
    assert client.get(f"/dashboard/?cycle={cycle}&unit={district.school_a.pk}").status_code == 400


def test_a_supervisor_of_another_district_sees_none_of_this_one(district, page_for):
    client = page_for(district.other_supervisor)
    tasks = client.get("/tasks/").content.decode()
    assert "Other School" in tasks
    assert "School A" not in tasks and "School B" not in tasks
    dashboard = client.get("/dashboard/").content.decode()
    assert "School A" not in dashboard
