"""tracker.scope: one task judged by walking up from its school answers exactly as the listed scope does,
and a request asks for the caller's memberships once."""

from __future__ import annotations

import pytest

from tests.conftest import CALLERS, Province
from tests.factories import MembershipFactory, UserFactory
from tracker import models as m
from tracker import scope
from tracker.memo import memo_scope

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


@pytest.mark.parametrize("caller", [*CALLERS, "nobody"])
def test_one_task_is_in_scope_exactly_when_the_list_has_it(province: Province, caller):
    user = province.users.get(caller) or UserFactory()
    schools = scope.school_ids_for(user)  # the listed scope, as the dashboards use it
    tasks = m.Task.objects.filter(criterion__code=province.open_task.criterion.code)
    assert tasks.count() == 3  # one per school: the clerk's, its neighbour's, the next district's
    for task in tasks:
        listed = scope.tasks_visible(user).filter(pk=task.pk).exists()
        assert (scope.task_visible(user, task.pk) is not None) == listed
        assert listed == (schools is None or task.school_id in schools)


@pytest.mark.parametrize(
    ("caller", "school", "roles"),
    [
        ("school", "school", {"school"}),
        ("school", "other_school", set()),
        ("supervisor@district", "school", {"supervisor"}),
        ("supervisor@district", "other_school", set()),
        ("supervisor@city", "other_school", {"supervisor"}),
        ("inspector@province", "other_school", {"inspector"}),
        ("superuser", "other_school", {"school", "supervisor", "inspector"}),
    ],
)
def test_roles_over_a_unit_are_those_held_on_it_or_above_it(province: Province, caller, school, roles):
    user = province.users[caller]
    unit = getattr(province, school)
    assert scope.roles_over(user, unit) == roles
    for role in m.Role.values:
        assert scope.has_role_over(user, unit.pk, role) == (role in roles)


def test_a_school_role_on_an_authority_reaches_nothing_under_it(province: Province):
    user = MembershipFactory(unit=province.district, role=m.Role.SCHOOL).user
    assert scope.roles_over(user, province.school) == set()
    assert scope.task_visible(user, province.open_task.pk) is None


def test_a_key_that_is_no_number_is_not_found(province: Province):
    assert scope.task_visible(province.users["superuser"], "abc") is None


def test_within_a_request_the_memberships_are_asked_once(province: Province, django_assert_num_queries):
    user = province.users["supervisor@city"]
    with memo_scope():
        with django_assert_num_queries(1):  # the memberships, marked where they reach
            assert scope.roles_over(user, province.school) == {"supervisor"}
        with django_assert_num_queries(0):
            assert scope.has_role_over(user, province.school, m.Role.SUPERVISOR)
            assert scope.roles_of(user) == {"supervisor"}
            scope.tasks_visible(user)  # built, not read: no query until its rows are


def test_outside_a_request_nothing_is_remembered(province: Province):
    user = province.users["supervisor@district"]
    assert scope.roles_over(user, province.other_school) == set()
    MembershipFactory(user=user, unit=province.city, role=m.Role.INSPECTOR)
    assert scope.roles_over(user, province.other_school) == {"inspector"}
